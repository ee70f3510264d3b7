"""Presidio recognizer for Kazakhstan phone numbers: mobile 7xx codes and Astana 7172 landlines."""

from __future__ import annotations

from typing import Optional

from presidio_analyzer import PatternRecognizer

from .checksum import only_digits

# Mobile network codes in use in Kazakhstan (Kcell/activ, Beeline, Tele2/Altel, Kazakhtelecom).
MOBILE_CODES = frozenset(
    [f"70{d}" for d in range(10)] + ["747", "750", "751", "760", "761", "762", "763", "764",
                                     "771", "775", "776", "777", "778"]
)
ASTANA_AREA_CODE = "7172"


def _national(digits: str) -> Optional[str]:
    if len(digits) == 11 and digits[0] in "78":
        return digits[1:]
    if len(digits) == 10:
        return digits
    return None


def national_number(candidate: str) -> Optional[str]:
    """The 10-digit national number, or None when the digits cannot be a KZ number."""
    return _national(only_digits(candidate))


def phone_verdict(candidate: str) -> Optional[bool]:
    """True: prefixed KZ mobile/Astana number; None: unprefixed but plausible (needs context)."""
    # Digits extracted once: this runs on every phone-pattern match.
    digits = only_digits(candidate)
    national = _national(digits)
    if national is None:
        return False
    if not (national[:3] in MOBILE_CODES or national.startswith(ASTANA_AREA_CODE)):
        return False
    has_country_prefix = len(digits) == 11
    # "(7172) 55-12-34" is unmistakably an Astana number even without +7/8.
    written_as_astana = "(7172)" in candidate.replace(" ", "")
    return True if has_country_prefix or written_as_astana else None


def canonical_phone(text: str) -> str:
    """E.164 form (+7XXXXXXXXXX), so "8 701 …" and "+7 (701) …" pseudonymize alike."""
    national = national_number(text)
    return f"+7{national}" if national else only_digits(text)


class KzPhoneRecognizer(PatternRecognizer):
    """KZ phones with +7/8 prefixes and space, hyphen or bracket separators."""

    canonical_form = staticmethod(canonical_phone)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return phone_verdict(pattern_text)
