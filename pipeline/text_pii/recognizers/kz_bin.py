"""Presidio recognizer for Kazakhstan BIN (БСН): registration month, entity-type digit and checksum."""

from __future__ import annotations

from typing import Optional

from presidio_analyzer import PatternRecognizer

from .checksum import kz_control_digit, only_digits

# 5th digit: 4 = resident legal entity, 5 = non-resident legal entity,
# 6 = individual entrepreneur in joint form. 0-3 would be a day of birth, i.e. an IIN.
ENTITY_TYPE_DIGITS = frozenset("456")


def bin_verdict(candidate: str) -> bool:
    """True when candidate is a BIN: YYMM with month 01-12, entity digit 4/5/6, valid checksum."""
    digits = only_digits(candidate)
    if len(digits) != 12:
        return False
    if not 1 <= int(digits[2:4]) <= 12:
        return False
    if digits[4] not in ENTITY_TYPE_DIGITS:
        return False
    return kz_control_digit(digits) == int(digits[11])


class KzBinRecognizer(PatternRecognizer):
    """BIN: the 6th digit (head office/branch/representative office…) is not constrained."""

    canonical_form = staticmethod(only_digits)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return bin_verdict(pattern_text)
