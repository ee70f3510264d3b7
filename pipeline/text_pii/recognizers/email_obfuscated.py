"""E-mail addresses written to dodge filters: (at), [собака], "at ... dot", Cyrillic domains, upper case."""

from __future__ import annotations

from typing import Iterable

import regex

from .direct import DirectRecognizer

_AT_WORDS = r"(?:at|собака|собачка|собак|эт|ат)"
_DOT_WORDS = r"(?:dot|точка|дот)"
# "(at)", "[собака]", "{at}", " at ", "@" (and "@" with spaces around it).
_AT = rf"(?:\s*[(\[{{<]\s*{_AT_WORDS}\s*[)\]}}>]\s*|\s+{_AT_WORDS}\s+|\s*@\s*)"
_DOT = rf"(?:\s*[(\[{{<]\s*{_DOT_WORDS}\s*[)\]}}>]\s*|\s+{_DOT_WORDS}\s+|\s?\.\s?)"
_LABEL = r"[\p{L}\d](?:[\p{L}\d\-]{0,61}[\p{L}\d])?"
_PATTERN = regex.compile(
    rf"(?<![\p{{L}}\d._%+\-])[\p{{L}}\d][\p{{L}}\d._%+\-]{{0,63}}{_AT}{_LABEL}(?:{_DOT}{_LABEL}){{1,3}}(?![\p{{L}}\d])",
    regex.IGNORECASE,
)
_SPLIT_DOT = regex.compile(_DOT, regex.IGNORECASE)
# Cheap test first: without "@" or a word for it, the full pattern (tried at every word) cannot match.
_AT_ANYWHERE = regex.compile(rf"@|(?<![\p{{L}}]){_AT_WORDS}(?![\p{{L}}])", regex.IGNORECASE)
_SPLIT_AT = regex.compile(_AT, regex.IGNORECASE)

# Top-level domains people give addresses under here; the last label must be one of them.
TOP_LEVEL_DOMAINS = frozenset(
    "kz ru com net org info biz io me edu gov ua by kg uz tj am az ge tr de uk us рф қаз каз su pro online site "
    "ai app dev co cc tv".split()
) | frozenset(
    # Spelled in Cyrillic after "точка": "inbox точка ру".
    "ру ком кз нет орг".split()
)


class ObfuscatedEmailRecognizer(DirectRecognizer):
    """local (at|собака|@) domain (dot|точка|.) tld, the tld from a known list (a plain "a at b dot c" sentence
    needs a real top-level domain to count)."""

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        if _AT_ANYWHERE.search(text) is None:
            return
        for match in _PATTERN.finditer(text):
            value = match.group()
            _, domain = _SPLIT_AT.split(value, maxsplit=1)
            labels = _SPLIT_DOT.split(domain)
            if labels[-1].lower() in TOP_LEVEL_DOMAINS:
                yield match.start(), match.end()
