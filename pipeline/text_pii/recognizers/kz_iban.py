"""Presidio recognizer for Kazakhstan IBANs: KZ, 2 check digits, 16 alphanumerics, mod-97."""

from __future__ import annotations

from typing import Optional

from presidio_analyzer import PatternRecognizer

from .checksum import iban_mod97_ok

KZ_IBAN_LENGTH = 20


def compact_iban(text: str) -> str:
    """Upper-case IBAN without spaces or hyphens, the form banks print on one line."""
    return "".join(ch for ch in text if ch not in " -\u00a0").upper()


def iban_verdict(candidate: str) -> bool:
    """True when candidate is a 20-character KZ IBAN whose mod-97 check holds."""
    iban = compact_iban(candidate)
    if len(iban) != KZ_IBAN_LENGTH or not iban.startswith("KZ"):
        return False
    if not iban[2:4].isdigit() or not iban.isascii() or not iban.isalnum():
        return False
    return iban_mod97_ok(iban)


class KzIbanRecognizer(PatternRecognizer):
    """KZ IBAN, printed compact or in groups of four."""

    canonical_form = staticmethod(compact_iban)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return iban_verdict(pattern_text)
