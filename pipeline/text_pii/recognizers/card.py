"""Presidio recognizer for payment card numbers: 13-19 digits, a card-scheme first digit, Luhn."""

from __future__ import annotations

from typing import Optional

from presidio_analyzer import PatternRecognizer

from .checksum import luhn_ok, only_digits

# 2 = Mir / Mastercard 2-series, 3 = Amex/JCB/Diners, 4 = Visa, 5 = Mastercard/Maestro,
# 6 = Maestro/UnionPay/Discover. 1, 7, 8, 9 and 0 start timestamps and order numbers, not cards.
SCHEME_FIRST_DIGITS = frozenset("23456")


def card_verdict(candidate: str) -> bool:
    """True when candidate has 13-19 digits, starts like a card scheme and passes Luhn."""
    digits = only_digits(candidate)
    if not 13 <= len(digits) <= 19:
        return False
    if digits[0] not in SCHEME_FIRST_DIGITS:
        return False
    return luhn_ok(digits)


class CardRecognizer(PatternRecognizer):
    """Payment card numbers, compact or grouped with spaces or hyphens."""

    canonical_form = staticmethod(only_digits)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return card_verdict(pattern_text)
