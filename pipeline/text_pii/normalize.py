"""Unicode normalization before matching (NFKC, any decimal digit to ASCII) with a map back to original offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Decimal digits outside ASCII (Arabic-Indic, Devanagari, ...): NFKC leaves them, the recognizers need 0-9.
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
# Dashes people type between digit groups; NFKC keeps them, the recognizers only know "-".
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")


@dataclass(frozen=True, slots=True)
class Normalized:
    """text as the recognizers see it; starts[i] / ends[i] give the original span of normalized character i."""

    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the normalized span [start, end)."""
        if self.starts is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _char(ch: str) -> str:
    if _NON_ASCII_DIGIT.match(ch):
        return str(unicodedata.decimal(ch))
    return unicodedata.normalize("NFKC", ch).translate(_DASHES)


def normalize(text: str) -> Normalized:
    """NFKC per character (so every normalized character maps to one original one), digits to ASCII, dashes to '-'.

    Most texts are already normalized: then nothing is copied and offsets are the identity.
    """
    if unicodedata.is_normalized("NFKC", text) and _NON_ASCII_DIGIT.search(text) is None \
            and not any(ch in text for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"):
        return Normalized(text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, ch in enumerate(text):
        piece = _char(ch) if not ch.isascii() else ch
        pieces.append(piece)
        starts.extend([index] * len(piece))
        ends.extend([index + 1] * len(piece))
    normalized = "".join(pieces)
    if normalized == text:
        return Normalized(text)
    return Normalized(normalized, tuple(starts), tuple(ends))
