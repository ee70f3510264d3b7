"""ID card and passport numbers, taken only right after the document's name (appeal numbers look the same)."""

from __future__ import annotations

from typing import Iterable

import regex

from .direct import DirectRecognizer

DOCUMENT_WORDS = (r"удостоверени[а-я]*(?:\s+личности)?|уд\.?\s?л\.?|уд\.?\s?личн[а-я]*|удл|паспорт[а-я]*|"
                  r"(?<![a-z])id|айди|жеке\s+куәлі[а-яәғқңөұүһі]*|төлқұжат[а-яәғқңөұүһі]*")
# The context comes first in the pattern (a literal scan), the number is a group: no look-behind over every position.
_PATTERN = regex.compile(
    rf"(?:{DOCUMENT_WORDS})\s*(?:[:№#]|номер|нөмірі|no\.?)?\s*[:№#]?\s*"
    r"(?P<value>[a-z]\s?\d{8}|\d{9}|\d{3}[ \-]\d{3}[ \-]\d{3})(?![0-9A-Za-z_])",
    regex.IGNORECASE,
)


class IdDocumentRecognizer(DirectRecognizer):
    """9 digits (ID card, also 043 123 456) or a letter and 8 digits (passport N12345678) after удостоверение
    (личности), уд. л., паспорт, ID, жеке куәлік, төлқұжат; "заявка № 123456789" has no such word and stays."""

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        return [match.span("value") for match in _PATTERN.finditer(text)]
