"""Kazakhstan vehicle registration plates: 123 ABC 01 (since 2012) and A 123 BCD (older), Cyrillic look-alikes too."""

from __future__ import annotations

from typing import Iterable

import regex

from .direct import DirectRecognizer

# Plates use Latin letters; people often type the Cyrillic letters that look the same.
PLATE_LETTERS = "A-Z" + "АВЕКМНОРСТХУ"
# Region codes 01-20 (01 Astana, 02 Almaty, ..., 18-20 the regions formed in 2022).
_REGION = r"(?:0[1-9]|1\d|20)"
_CURRENT = rf"\d{{3}}[ \-]?[{PLATE_LETTERS}]{{2,3}}[ \-]?{_REGION}"
_OLDER = rf"[{PLATE_LETTERS}][ \-]?\d{{3}}[ \-]?[{PLATE_LETTERS}]{{2,3}}"
_UPPER = regex.compile(rf"(?<![\p{{L}}\d])(?:{_CURRENT}|{_OLDER})(?![\p{{L}}\d])")
_ANY_CASE = regex.compile(rf"(?<![\p{{L}}\d])(?:{_CURRENT}|{_OLDER})(?![\p{{L}}\d])", regex.IGNORECASE)
# Lower-case plates ("123 abc 01") count only near one of these words.
_PLATE_CONTEXT = regex.compile(r"(?:гос\.?\s?номер|госномер|номер\w*\s+(?:машин|авто)|машин|авто|гос\s?знак|"
                               r"грз|көлік|нөмір|plate)", regex.IGNORECASE)
_CONTEXT_WINDOW = 40


class VehiclePlateRecognizer(DirectRecognizer):
    """Upper-case plates anywhere; plates typed in lower case only after a car or plate word."""

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _ANY_CASE.finditer(text):
            start, end = match.span()
            if _UPPER.fullmatch(text, start, end) or _PLATE_CONTEXT.search(text, max(0, start - _CONTEXT_WINDOW), start):
                yield start, end
