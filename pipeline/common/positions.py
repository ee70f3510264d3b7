"""Source positions of events (raw topic incarnation, partition, offset, index in the envelope) and compact ranges.

An event's identity is where it was read from, not how it was batched: a replay after a crash may gather other
batches, yet every event keeps its position. Stages downstream of ingest (the lake sinks, the k-anonymity state)
record which positions they already hold as a few merged ranges per source stream (like the offset ranges Kafka
Connect's S3 sink names its files by), so what they remember grows with gaps, never with events.

A position packs (offset, index) into one integer: `offset << INDEX_BITS | index`. Positions of one stream are
ordered as the producer wrote the events.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

INDEX_BITS = 14  # an envelope holds at most 10,000 events (pipeline/validate/envelope.py): 2**14 leaves room
MAX_INDEX = (1 << INDEX_BITS) - 1

# A range id names the positions [lo, hi] of one stream: "s<incarnation>.r<raw partition>[.q<stage partition>]-lo-hi".
_RANGE_ID = re.compile(r"^(s[0-9a-z]+\.r[0-9]+(?:\.q[0-9]+)?)-([0-9]+)-([0-9]+)$")


def position(offset: int, index: int = 0) -> int:
    return (int(offset) << INDEX_BITS) | int(index)


def offset_of(value: int) -> int:
    return int(value) >> INDEX_BITS


def incarnation_of(topic_id: str) -> str:
    """A short, stable token of a topic id: a deleted and re-created topic (new id) gets a new token."""
    return hashlib.sha1(topic_id.encode("utf-8")).hexdigest()[:10]


def stream_id(incarnation: str, raw_partition: int, stage_partition: int | None = None) -> str:
    """One ordered stream of positions: a raw partition of one topic incarnation (and one stage partition)."""
    base = f"s{incarnation}.r{raw_partition:03d}"
    return base if stage_partition is None else f"{base}.q{stage_partition}"


def raw_partition_of(stream: str) -> int:
    return int(stream.split(".")[1][1:])


def range_id(stream: str, lo: int, hi: int) -> str:
    return f"{stream}-{lo}-{hi}"


def parse_range_id(text: str) -> tuple[str, int, int] | None:
    """(stream, lo, hi) of a range id; None for any other batch id (older versions, k-anonymity releases)."""
    match = _RANGE_ID.match(text)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


class RangeSet:
    """Disjoint inclusive integer ranges, kept sorted and merged (adjacent ranges become one)."""

    __slots__ = ("starts", "ends")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()):
        self.starts: list[int] = []
        self.ends: list[int] = []
        for lo, hi in sorted(ranges):
            self.add(lo, hi)

    def add(self, lo: int, hi: int) -> None:
        if hi < lo:
            return
        # every range that overlaps or touches [lo, hi] is merged into it
        first = bisect.bisect_left(self.ends, lo - 1)
        last = bisect.bisect_right(self.starts, hi + 1)
        if first < last:
            lo = min(lo, self.starts[first])
            hi = max(hi, self.ends[last - 1])
        self.starts[first:last] = [lo]
        self.ends[first:last] = [hi]

    def update(self, other: "RangeSet") -> None:
        for lo, hi in other:
            self.add(lo, hi)

    def covers(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `values` lie inside one of the ranges."""
        values = np.asarray(values, dtype=np.int64)
        if not self.starts:
            return np.zeros(len(values), dtype=bool)
        index = np.searchsorted(np.asarray(self.starts, dtype=np.int64), values, side="right") - 1
        ends = np.asarray(self.ends, dtype=np.int64)
        return (index >= 0) & (values <= ends[np.maximum(index, 0)])

    def contains(self, lo: int, hi: int) -> bool:
        """Whether the whole of [lo, hi] is covered."""
        index = bisect.bisect_right(self.starts, lo) - 1
        return index >= 0 and self.ends[index] >= hi

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self.starts, self.ends))

    def __len__(self) -> int:
        return len(self.starts)

    def __eq__(self, other) -> bool:
        return isinstance(other, RangeSet) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"RangeSet({list(self)})"


@dataclass
class HeldPositions:
    """What a store already holds: range sets per stream, plus whole batch ids of older, offset-less batches."""

    ranges: dict[str, RangeSet]
    batch_ids: set[str]

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> "HeldPositions":
        held = cls({}, set())
        for text in ids:
            held.add_id(text)
        return held

    def add_id(self, text: str) -> None:
        parsed = parse_range_id(text)
        if parsed is None:
            self.batch_ids.add(text)
            return
        stream, lo, hi = parsed
        self.ranges.setdefault(stream, RangeSet()).add(lo, hi)

    def update(self, other: "HeldPositions") -> None:
        self.batch_ids |= other.batch_ids
        for stream, ranges in other.ranges.items():
            self.ranges.setdefault(stream, RangeSet()).update(ranges)

    def range_ids(self) -> list[str]:
        return [range_id(stream, lo, hi) for stream, ranges in sorted(self.ranges.items()) for lo, hi in ranges]
