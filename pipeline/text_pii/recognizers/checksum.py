"""Check-digit arithmetic shared by Kazakhstan identifiers, cards and IBANs."""

from __future__ import annotations

import re
from typing import Optional

_FIRST_WEIGHTS = tuple(range(1, 12))
# Used only when the first pass gives 10 (the official IIN/BIN rule).
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_ASCII_DIGIT_RUNS = re.compile("[0-9]+")


def only_digits(text: str) -> str:
    """The ASCII digits of text, in order."""
    # Validators run on every regex match; most IIN/BIN/card candidates are digits only already.
    if text.isascii() and text.isdigit():
        return text
    return "".join(_ASCII_DIGIT_RUNS.findall(text))


def kz_control_digit(digits: str) -> Optional[int]:
    """Control digit of a 12-digit IIN/BIN, or None when the number can carry none."""
    head = [int(d) for d in digits[:11]]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        control = sum(d * w for d, w in zip(head, weights)) % 11
        if control != 10:
            return control
    return None


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check over a digit string."""
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_mod97_ok(iban: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    rearranged = iban[4:] + iban[:4]
    try:
        numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    except ValueError:
        return False
    return int(numeric) % 97 == 1
