"""Twelve digits right after "ИИН"/"ЖСН" (up to two words between): meant as an IIN even when mistyped."""

from __future__ import annotations

from typing import Iterable

import regex

from .direct import DirectRecognizer

# "ИИН ребенка 150612 500123", "ЖСН: 900101300126", "(ИИН 900101-300-126)"; the checksum is not asked, since a
# mistyped IIN is still the writer's.
_PATTERN = regex.compile(
    r"(?<![\p{L}])(?:иин|жсн|iin)(?:\s+[\p{L}]+){0,2}\s*(?:[:№#]|-)?\s*\(?\s*"
    r"(?P<value>\d{12}|\d{6}([ \-.])\d{6}|\d{4}([ \-.])\d{4}\3\d{4}|\d{6}([ \-.])\d{3}\4\d{3}|"
    r"\d{3}([ \-.])\d{3}\5\d{3}\5\d{3})(?![0-9A-Za-z_])",
    regex.IGNORECASE,
)


class IinAfterContextRecognizer(DirectRecognizer):
    """The 12 digits (compact or grouped 6+6, 4+4+4, 6-3-3, 3-3-3-3) that follow the word for IIN."""

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        return [match.span("value") for match in _PATTERN.finditer(text)]
