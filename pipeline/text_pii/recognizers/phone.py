"""Phone numbers in any common layout: Kazakhstan mobiles and landlines, Russian and foreign numbers (phonenumbers)."""

from __future__ import annotations

import functools
import re
from typing import Iterable

import phonenumbers
from phonenumbers import PhoneNumberType

from .checksum import only_digits
from .direct import DirectRecognizer

# Digit groups joined by the separators people type: spaces, dots, hyphens, slashes, brackets around a code.
_RUN = re.compile(r"(?<![\w+])(\+\s?)?\(?\d[\d\s.\-/()]*\d\)?")
_GROUP = re.compile(r"\d+")
# Free calls and shared-cost lines are services' numbers, not a person's.
_SERVICE_TYPES = frozenset({PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                            PhoneNumberType.UAN})
# A number after these is an appeal, order or account number, whatever its digits look like ("№" reads "No"
# after NFKC).
_NOT_A_PHONE_BEFORE = re.compile(r"(?:№|#|\bn\b|\bno\b\.?|заявк\w*|заказ\w*|обращени\w*|\bid\b|код\w*|сч[её]т\w*|лицев\w*|"
                                 r"заявка|өтінім\w*|шот\w*)\W{0,3}$", re.IGNORECASE)
# Words that make an unprefixed 10-digit number (a Russian 9xx mobile written without +7/8) a phone.
_PHONE_CONTEXT = re.compile(r"(?:тел|моб|сотов|звон|whats|ватсап|вотсап|контакт|номер\w*\s+телефон|нөмір|ұялы|"
                            r"қоңырау|байланыс|phone)", re.IGNORECASE)
_CONTEXT_WINDOW = 40
# The fewest digits of any number _personal accepts (a +CC number of 8): a digit run with fewer holds no phone.
_MIN_DIGITS = 8


@functools.lru_cache(maxsize=8192)
def is_personal_number(e164: str, strict: bool) -> bool:
    """A number a person may have: valid in its country's plan (strict), or of a possible length (not strict).

    Free calls (8 800 ...) and other service numbers are never personal.
    """
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    plausible = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    return plausible and phonenumbers.number_type(number) not in _SERVICE_TYPES


def canonical_phone(text: str) -> str:
    """E.164 form (+7XXXXXXXXXX), so "8 701 …" and "+7 (701) …" pseudonymize alike."""
    digits = only_digits(text)
    if text.lstrip().startswith("+"):
        return "+" + digits
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10:
        return "+7" + digits
    return digits


class NumberingPlanPhoneRecognizer(DirectRecognizer):
    """Candidate digit runs, cut at group boundaries, checked against the numbering plans (phonenumbers).

    +CC...: a number of a possible length for that country. 8/7 + 10 digits: in Kazakhstan (+7 7...) any, in
    Russia (+7 3/4/8/9...) a valid one. 10 digits starting with 7: a valid KZ number (mobile 7xx, landline 7xxx
    with a city code), or any with the code in brackets. 10 digits starting with 9 (a Russian mobile without the
    trunk prefix) only near a phone word. Never after "№", "заявка", "заказ"...; toll-free numbers stay.
    """

    def _personal(self, text: str, start: int, end: int, digits: str, plus: bool) -> bool:
        if plus:
            return 8 <= len(digits) <= 15 and is_personal_number("+" + digits, strict=False)
        if len(digits) == 11 and digits[0] in "78":
            # Every +7 7... number is Kazakh; the plan's finer rules lag behind new city exchanges.
            return is_personal_number("+7" + digits[1:], strict=digits[1] != "7")
        if len(digits) == 10 and digits[0] == "7":
            bracketed = text[start:end].lstrip("(").find(")") in (3, 4, 5)
            return is_personal_number("+7" + digits, strict=not bracketed)
        if len(digits) == 10 and digits[0] == "9":
            window = text[max(0, start - _CONTEXT_WINDOW):start]
            return _PHONE_CONTEXT.search(window) is not None and is_personal_number("+7" + digits, strict=True)
        return False

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for run in _RUN.finditer(text):
            groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run.start(), run.end())]
            if sum(end - start for start, end in groups) < _MIN_DIGITS:
                continue  # house and appeal numbers, dates: no number _personal takes is this short
            plus_at = run.start() if run.group(1) else None
            i = 0
            while i < len(groups):
                found = None
                start = groups[i][0]
                plus = plus_at is not None and i == 0
                before = text[max(0, start - 25):run.start() if i == 0 else start]
                if _NOT_A_PHONE_BEFORE.search(before):
                    i += 1
                    continue
                digits = ""
                candidates = []
                for j in range(i, len(groups)):
                    digits += text[groups[j][0]:groups[j][1]]
                    if len(digits) > 15:
                        break
                    candidates.append((j, digits))
                for j, digits in reversed(candidates):  # the longest valid number wins
                    if self._personal(text, start, groups[j][1], digits, plus):
                        found = j
                        break
                if found is None:
                    i += 1
                    continue
                span_start = plus_at if plus else start
                end = groups[found][1]
                # "(727)" opened before the first digit group belongs to the number; so does a closing bracket.
                if not plus and span_start > 0 and text[span_start - 1] == "(":
                    span_start -= 1
                elif plus is False and run.start() < span_start and text[run.start():span_start].strip() == "(":
                    span_start = run.start()
                yield span_start, end
                i = found + 1
