"""Unicode normalization before matching (NFKC, any decimal digit to ASCII) with a map back to original offsets."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

# Dashes people type between digit groups; NFKC keeps them, the recognizers only know "-".
DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63")
# Kept as written: NFKC would turn "№" into "No", and the recognizers read "№" (appeal numbers, house numbers).
KEPT = frozenset("№")


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


@functools.lru_cache(maxsize=4096)
def normalized_char(ch: str) -> str:
    """What one non-ASCII character becomes: its decimal digit, "-" for a dash, else its NFKC form."""
    if ch in KEPT:
        return ch
    if ch in DASHES:
        return "-"
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    return unicodedata.normalize("NFKC", ch)


# Every character met so far, and those normalized_char changes (with what they become): a text's characters are
# then sorted out with set operations in C, and normalized_char runs once per new character. Only ever added to,
# changed characters first, so a character in _SEEN has its entry in _CHANGED if it has one; they stop growing at
# the bound, past which new characters are looked up per text (rare symbols must not grow them without end).
_SEEN: set[str] = set()
_CHANGED: dict[str, str] = {}
_MAX_SEEN = 65_536


def normalize(text: str) -> Normalized:
    """Per character (so every normalized character maps to one original one); texts with nothing to change (almost
    all) come back as they are, and changes of one character into one keep the offsets."""
    if text.isascii():
        return Normalized(text)
    characters = set(text)
    unknown = characters.difference(_SEEN)  # before reading _CHANGED (see above)
    table = {ord(ch): _CHANGED[ch] for ch in characters.intersection(_CHANGED)}
    if unknown:
        changes = {ch: new for ch in unknown if not ch.isascii() and (new := normalized_char(ch)) != ch}
        table.update((ord(ch), new) for ch, new in changes.items())
        if len(_SEEN) < _MAX_SEEN:
            _CHANGED.update(changes)
            _SEEN.update(unknown)
    if not table:
        return Normalized(text)
    if all(len(new) == 1 for new in table.values()):
        return Normalized(text.translate(table))
    starts: list[int] = []
    ends: list[int] = []
    pieces: list[str] = []
    for index, ch in enumerate(text):
        piece = table.get(ord(ch), ch)
        pieces.append(piece)
        starts.extend([index] * len(piece))
        ends.extend([index + 1] * len(piece))
    return Normalized("".join(pieces), tuple(starts), tuple(ends))
