"""Window state of the k-anonymity stage in a faust table: bucketed cell sets, watermarks, release records.

Keys (bytes; raw serializer), each carrying the stage partition so a worker only ever releases its own:
  c|<partition>|<window ms>|<bucket>  → {"cells": {cell json: [events, [subjects]]}, "o": {source: offset}}
  wm|<partition>|<source>             → newest event-time bucket delivered by that raw-topic partition (ms)
  wmctl|<partition>                   → watermark forced by a control message (end of a finite run)
  closed|<partition>                  → windows ending at or before this (ms) are released
  rel|<partition>|<window ms>         → {source: offset} of the batches counted in that released window

Cells are grouped into a few buckets per window: each incoming batch writes one changelog record per touched
bucket instead of one per cell, because faust's cost is per record (~1.7k records/s here), not per byte.
Idempotence: every batch id names its source (raw partition) and offset, and batches of one source arrive in
offset order, so a bucket records the last offset applied per source; a replayed batch at or below it is skipped.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import orjson

from pipeline.kanon.core import Cell, CellState

OTHER_SOURCE = "other"


# Chunks of one raw message ("…-q1-c0", "…-q1-c1") are ordered within their offset.
MAX_CHUNKS_PER_OFFSET = 4096


def parse_batch_id(batch_id: str, fallback_offset: int) -> tuple[str, int]:
    """(source, order) of a batch: ("3", 12345 * 4096 + chunk) for "r003-0000000000000012345-q1[-c<chunk>]".

    Batches of one source arrive in this order; other producers are one source ordered by topic offset.
    """
    parts = batch_id.split("-")
    if len(parts) >= 2 and parts[0][:1] == "r" and parts[0][1:].isdigit() and parts[1].isdigit():
        chunk = int(parts[3][1:]) if len(parts) >= 4 and parts[3][:1] == "c" and parts[3][1:].isdigit() else 0
        return str(int(parts[0][1:])), int(parts[1]) * MAX_CHUNKS_PER_OFFSET + chunk
    return OTHER_SOURCE, fallback_offset * MAX_CHUNKS_PER_OFFSET


class KAnonState:
    """Typed access to the table; decoded bucket values are cached (the table holds the serialized truth)."""

    def __init__(self, table, sources: list[str], buckets: int = 8):
        self.table = table
        self.sources = sources  # raw-topic partitions feeding every partition (a silent one holds windows open)
        self.buckets = buckets
        self.index: dict[int, dict[int, set[bytes]]] = {}  # partition → window → bucket keys
        self.marks: dict[int, dict[str, int]] = {}  # partition → source → newest event time (ms)
        self.cache: dict[bytes, dict] = {}
        self.released: dict[tuple[int, int], dict[str, int]] = {}

    def reset(self, *_args, **_kwargs) -> None:
        """After a rebalance or recovery, rebuild everything from the table."""
        self.index.clear()
        self.marks.clear()
        self.cache.clear()
        self.released.clear()

    # ---- index ---------------------------------------------------------------------------------------------
    def windows(self, partition: int) -> dict[int, set[bytes]]:
        if partition not in self.index:
            found: dict[int, set[bytes]] = defaultdict(set)
            marks: dict[str, int] = {}
            cell_prefix, mark_prefix = f"c|{partition}|".encode(), f"wm|{partition}|".encode()
            for key in list(self.table.keys()):
                if key.startswith(cell_prefix):
                    found[int(key.split(b"|")[2])].add(key)
                elif key.startswith(mark_prefix):
                    marks[key[len(mark_prefix):].decode()] = int(self.table[key])
            self.index[partition] = found
            self.marks[partition] = marks
        return self.index[partition]

    # ---- small integers -----------------------------------------------------------------------------------
    def get_int(self, key: str) -> int:
        value = self.table.get(key.encode())
        return int(value) if value else 0

    def set_int(self, key: str, value: int) -> None:
        self.table[key.encode()] = str(int(value)).encode()

    def closed(self, partition: int) -> int:
        return self.get_int(f"closed|{partition}")

    def watermark(self, partition: int) -> int:
        self.windows(partition)
        marks = self.marks[partition]
        slowest = min(marks.get(source, 0) for source in self.sources) if self.sources else 0
        return max(slowest, self.get_int(f"wmctl|{partition}"))

    def advance_source(self, partition: int, source: str, newest_ms: int) -> None:
        self.windows(partition)
        if newest_ms > self.marks[partition].get(source, 0):
            self.marks[partition][source] = newest_ms
            self.set_int(f"wm|{partition}|{source}", newest_ms)

    def force_watermark(self, partition: int, watermark_ms: int) -> None:
        if watermark_ms > self.get_int(f"wmctl|{partition}"):
            self.set_int(f"wmctl|{partition}", watermark_ms)

    # ---- cells --------------------------------------------------------------------------------------------
    def _value(self, key: bytes) -> dict:
        value = self.cache.get(key)
        if value is None:
            raw = self.table.get(key)
            value = orjson.loads(raw) if raw else {"cells": {}, "o": {}}
            self.cache[key] = value
        return value

    def apply(self, partition: int, window: int, updates: dict[Cell, CellState], source: str, offset: int) -> None:
        """Add one batch's pre-aggregated cells of one window; a bucket that already saw this batch skips it."""
        by_bucket: dict[int, list[tuple[str, CellState]]] = defaultdict(list)
        for cell, update in updates.items():
            encoded = orjson.dumps(list(cell)).decode()
            by_bucket[zlib.crc32(encoded.encode()) % self.buckets].append((encoded, update))
        for bucket, items in by_bucket.items():
            key = b"c|%d|%d|%d" % (partition, window, bucket)
            value = self._value(key)
            if value["o"].get(source, -1) >= offset:
                continue  # replayed batch: already counted in this bucket
            cells = value["cells"]
            for encoded, update in items:
                current = cells.get(encoded)
                if current is None:
                    cells[encoded] = [update.events, sorted(update.subjects)]
                else:
                    current[0] += update.events
                    current[1] = sorted(set(current[1]) | update.subjects)
            value["o"][source] = offset
            self.table[key] = orjson.dumps(value)
            self.windows(partition)[window].add(key)

    def take_window(self, partition: int, window: int) -> tuple[dict[Cell, CellState], dict[str, int]]:
        """All cells of a window, and the highest offset applied per source (for the release record)."""
        cells: dict[Cell, CellState] = {}
        offsets: dict[str, int] = {}
        for key in sorted(self.windows(partition).get(window, ())):
            value = self._value(key)
            for encoded, (events, subjects) in value["cells"].items():
                cells[tuple(orjson.loads(encoded))] = CellState(events, set(subjects))
            for source, offset in value["o"].items():
                offsets[source] = max(offset, offsets.get(source, -1))
        return cells, offsets

    def finish_release(self, partition: int, window: int, offsets: dict[str, int], closed: int,
                       forget_before_ms: int) -> None:
        """Record what the release counted and advance `closed` FIRST, then drop the window's cells.

        All these records go to one changelog partition, in order: if a crash leaves only some of them, either
        `closed` is missing too (the whole window is still there and is released again, identically) or it is
        there and the leftover cells are discarded unreleased (`drop_released_leftovers`). A window is never
        released twice from partial state.
        """
        self.table[b"rel|%d|%d" % (partition, window)] = orjson.dumps(offsets)
        self.released[(partition, window)] = offsets
        self.set_int(f"closed|{partition}", closed)
        self._drop_cells(partition, window)
        for (p, old) in [k for k in self.released if k[0] == partition and k[1] < forget_before_ms]:
            self.released.pop((p, old))
            self.table.pop(b"rel|%d|%d" % (p, old), None)

    def _drop_cells(self, partition: int, window: int) -> None:
        for key in self.windows(partition).pop(window, ()):
            self.cache.pop(key, None)
            if key in self.table:
                del self.table[key]

    def drop_released_leftovers(self, partition: int, size_ms: int) -> int:
        """Cells of windows already released (a crash between `closed` and the deletes): discard them."""
        closed = self.closed(partition)
        stale = [w for w in self.windows(partition) if w + size_ms <= closed]
        for window in stale:
            self._drop_cells(partition, window)
        return len(stale)

    def was_counted(self, partition: int, window: int, source: str, offset: int) -> bool:
        """True when a batch reaching a released window was already part of that release (a replay)."""
        if (partition, window) not in self.released:
            raw = self.table.get(b"rel|%d|%d" % (partition, window))
            self.released[(partition, window)] = orjson.loads(raw) if raw else {}
        return self.released[(partition, window)].get(source, -1) >= offset
