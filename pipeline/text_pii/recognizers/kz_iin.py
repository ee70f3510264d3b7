"""Presidio recognizer for Kazakhstan IIN (ЖСН): birth date, century/sex digit and checksum."""

from __future__ import annotations

import datetime
from typing import Optional

from presidio_analyzer import PatternRecognizer

from .checksum import kz_control_digit, only_digits

# 7th digit: 1/2 = born 1800s (male/female), 3/4 = 1900s, 5/6 = 2000s.
CENTURY_BY_DIGIT = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}
# 0 is used on IINs issued to some foreign residents; the century is unknown then.
FOREIGNER_DIGIT = "0"


def _is_valid_birth_date(yymmdd: str, century: Optional[int], today: datetime.date) -> bool:
    """A real calendar date; for a known century, not in the future."""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    # Unknown century: 2000 is a leap year and has every calendar date any century has.
    year = century + yy if century is not None else 2000 + yy
    try:
        born = datetime.date(year, mm, dd)
    except ValueError:
        return False
    return century is None or born <= today


def iin_verdict(candidate: str, today: Optional[datetime.date] = None) -> Optional[bool]:
    """True: valid IIN; None: valid foreigner IIN (digit 7 is 0), needs context; False: not an IIN."""
    digits = only_digits(candidate)
    if len(digits) != 12:
        return False
    today = today or datetime.date.today()
    marker = digits[6]
    if marker == FOREIGNER_DIGIT:
        century = None
    elif marker in CENTURY_BY_DIGIT:
        century = CENTURY_BY_DIGIT[marker]
    else:
        return False
    if not _is_valid_birth_date(digits[:6], century, today):
        return False
    if kz_control_digit(digits) != int(digits[11]):
        return False
    return None if century is None else True


class KzIinRecognizer(PatternRecognizer):
    """IIN: a foreigner's IIN (7th digit 0) keeps the pattern score, so it needs a context word."""

    canonical_form = staticmethod(only_digits)

    def validate_result(self, pattern_text: str) -> Optional[bool]:  # noqa: D102
        return iin_verdict(pattern_text)
