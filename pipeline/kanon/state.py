"""Window state of the k-anonymity stage in a faust table: per-batch cell deltas, watermarks, release records.

Keys (bytes; raw serializer), each carrying the stage partition so a worker only ever releases its own:
  d|<partition>|<window ms>|<stream>|<lo>-<hi> → {"ids": [identity tuples], "cells": {cell json: [events,
                                                [id index], ([id index, sensitive value])]}}: one batch's
                                                contribution to one window; it counts every row of the source
                                                stream with a position in [lo, hi] (pipeline/common/positions.py)
                                                that no earlier record of the window counted
  c|<partition>|<window ms>|<bucket>          → merged cells of earlier versions ({"cells": …, "o": {source:
                                                offset}}); still read, so open windows survive an upgrade
  wm|<partition>|<source>                     → newest event-time bucket delivered by that raw-topic partition (ms)
  wmctl|<partition>                           → watermark forced by a control message (end of a finite run)
  closed|<partition>                          → windows ending at or before this (ms) are released
  rel|<partition>|<window ms>                 → {stream: [[lo, hi], …]}: positions counted in that released window
                                                (or counted late after it)

Each batch writes one changelog record per window it touches (usually one), holding only its own cells: the cost
of a batch does not grow with the window, and a record stays far below the 1 MB message limit however many
people a window counts. (Earlier versions rewrote 8 merged buckets per batch: cost and record size grew with the
window.) Idempotence by source positions, whatever the batching of a replay: rows whose positions a record of
the window (or its release) already counts are left out before a batch is applied, and the key names the batch's
range; the window's cells are merged from its deltas at release. (Records of earlier versions, keyed by one raw
offset per batch, are still read: such an order counts as the range [order, order].)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np
import orjson
import pyarrow as pa

from pipeline.common.positions import RangeSet, parse_range_id, position, raw_partition_of
from pipeline.common.wire import POSITION_COLUMN
from pipeline.kanon.core import Cell, CellState

OTHER_SOURCE = "other"


def batch_source(batch_id: str, table: pa.Table, fallback_offset: int) -> tuple[str, str, int, int, np.ndarray]:
    """(stream, watermark source, lo, hi, row positions) of a pseudonymized batch (pipeline/common/positions.py).

    The watermark source is the raw partition (raw partitions are consumed at different speeds). A batch without
    a range id (another producer) is one stream, its rows all at the message's own offset.
    """
    parsed = parse_range_id(batch_id)
    if parsed is not None and POSITION_COLUMN in table.schema.names:
        stream, lo, hi = parsed
        positions = table.column(POSITION_COLUMN).to_numpy()
        return stream, str(raw_partition_of(stream)), lo, hi, positions
    at = position(fallback_offset)
    return OTHER_SOURCE, OTHER_SOURCE, at, at, np.full(table.num_rows, at, dtype=np.int64)


class KAnonState:
    """Typed access to the table (which holds the serialized truth) with an in-memory index of its keys."""

    def __init__(self, table, sources: list[str]):
        self.table = table
        self.sources = sources  # raw-topic partitions feeding every partition (a silent one holds windows open)
        self.index: dict[int, dict[int, set[bytes]]] = {}  # partition → window → cell record keys
        self.marks: dict[int, dict[str, int]] = {}  # partition → source → newest event time (ms)
        self.released: dict[tuple[int, int], dict[str, RangeSet]] = {}
        self.counted_ranges: dict[tuple[int, int], dict[str, RangeSet]] = {}  # (partition, window) → per stream

    def reset(self, *_args, **_kwargs) -> None:
        """After a rebalance or recovery, rebuild everything from the table."""
        self.index.clear()
        self.marks.clear()
        self.released.clear()
        self.counted_ranges.clear()

    # ---- index ---------------------------------------------------------------------------------------------
    def windows(self, partition: int) -> dict[int, set[bytes]]:
        if partition not in self.index:
            found: dict[int, set[bytes]] = defaultdict(set)
            marks: dict[str, int] = {}
            cell_prefixes = (f"d|{partition}|".encode(), f"c|{partition}|".encode())
            mark_prefix = f"wm|{partition}|".encode()
            for key in list(self.table.keys()):
                if key.startswith(cell_prefixes):
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
    def counted(self, partition: int, window: int, stream: str) -> RangeSet:
        """Positions of `stream` already counted in an unreleased window (merged from its records' keys)."""
        key = (partition, window)
        if key not in self.counted_ranges:
            by_stream: dict[str, RangeSet] = {}
            for record in self.windows(partition).get(window, ()):
                parsed = _record_range(record)
                if parsed is not None:
                    by_stream.setdefault(parsed[0], RangeSet()).add(parsed[1], parsed[2])
            self.counted_ranges[key] = by_stream
        return self.counted_ranges[key].setdefault(stream, RangeSet())

    def apply(self, partition: int, window: int, updates: dict[Cell, CellState], stream: str, lo: int,
              hi: int) -> None:
        """Record one batch's pre-aggregated cells of one window (rows counted before already left out).

        The record lists the batch's distinct identity tuples once ("ids") and each cell refers to them by index:
        people are linked at release, over the whole window, so every identifier of an event must be kept.
        """
        key = b"d|%d|%d|%s|%d-%d" % (partition, window, stream.encode(), lo, hi)
        keys = self.windows(partition)[window]
        self.counted(partition, window, stream).add(lo, hi)
        if key in keys or not updates:
            return  # nothing new: a replay
        ids: dict = {}
        cells = {}
        counts = {}  # DP modes only: events per identity, as [id, events] pairs per cell
        for cell, update in updates.items():
            entry = [update.events, sorted(ids.setdefault(i, len(ids)) for i in update.subjects)]
            if update.sensitive:
                entry.append(sorted([ids.setdefault(i, len(ids)), value] for i, value in update.sensitive))
            encoded = orjson.dumps(list(cell)).decode()
            cells[encoded] = entry
            if update.counts:
                counts[encoded] = sorted([ids[i], n] for i, n in update.counts.items())
        record = {"ids": list(ids), "cells": cells}
        if counts:
            record["counts"] = counts
        self.table[key] = orjson.dumps(record)
        keys.add(key)

    def absorb(self, partition: int, batch: pa.Table, row_windows: np.ndarray, positions: np.ndarray, stream: str,
               lo: int, hi: int, size_ms: int, grace_ms: int,
               aggregate: Callable[[pa.Table], dict[int, dict[Cell, CellState]]]) -> dict[int, dict[Cell, CellState]]:
        """Apply one batch; return, per window, the cells that are LATE (never applied, never re-released).

        Rows whose positions the window already counted (a replay, however it was batched) are dropped silently.
        A window is final once released (`closed`) and also once it is due (end + grace behind the watermark)
        but not yet released: a crash between delivering a window and recording `closed` leaves it in the
        table, and the restarted worker must release exactly what it released before, not that plus events
        that arrived in between. `aggregate` pre-aggregates rows into {window: {cell: state}}.
        """
        closed, watermark = self.closed(partition), self.watermark(partition)
        late: dict[int, dict[Cell, CellState]] = {}
        for window in np.unique(row_windows).tolist():
            in_window = row_windows == window
            fresh = in_window.copy()
            final = window + size_ms <= closed or window + size_ms + grace_ms <= watermark
            seen = self.counted(partition, window, stream).covers(positions[in_window])
            if final:
                seen |= ~self.not_counted(partition, window, stream, positions[in_window])
            fresh[in_window] = ~seen
            if final:
                if fresh.any():
                    late[window] = aggregate(batch.filter(pa.array(fresh))).get(window, {})
                    self.count_late(partition, window, stream, lo, hi)
                continue
            rows = batch if fresh.all() else batch.filter(pa.array(fresh))
            self.apply(partition, window, aggregate(rows).get(window, {}) if fresh.any() else {}, stream, lo, hi)
        return late

    def take_window(self, partition: int, window: int) -> tuple[dict[Cell, CellState], dict[str, RangeSet]]:
        """All cells of a window merged from its records, and the positions counted per stream."""
        cells: dict[Cell, CellState] = {}
        offsets: dict[str, RangeSet] = {}
        for key in sorted(self.windows(partition).get(window, ())):
            raw = self.table.get(key)
            if not raw:
                continue
            value = orjson.loads(raw)
            # Records written before people were linked hold subject strings: 1-tuples (core.link_people).
            ids = [tuple(i) if isinstance(i, list) else (i,) for i in value["ids"]] if "ids" in value else None
            for encoded, entry in value["cells"].items():
                cell = tuple(orjson.loads(encoded))
                subjects = {ids[i] for i in entry[1]} if ids is not None else {(s,) for s in entry[1]}
                sensitive = {(ids[i], v) for i, v in entry[2]} if ids is not None and len(entry) > 2 else set()
                current = cells.get(cell)
                if current is None:
                    cells[cell] = CellState(entry[0], subjects, sensitive)
                else:
                    current.events += entry[0]
                    current.subjects.update(subjects)
                    current.sensitive.update(sensitive)
            for encoded, pairs in value.get("counts", {}).items():
                counts = cells[tuple(orjson.loads(encoded))].counts
                for i, n in pairs:
                    counts[ids[i]] = counts.get(ids[i], 0) + n
            parsed = _record_range(key)
            if parsed is not None:
                offsets.setdefault(parsed[0], RangeSet()).add(parsed[1], parsed[2])
            else:
                for source, order in value.get("o", {}).items():
                    offsets.setdefault(source, RangeSet()).add(0, int(order))
        return cells, offsets

    def finish_release(self, partition: int, window: int, offsets: dict[str, RangeSet], closed: int,
                       forget_before_ms: int) -> None:
        """Record what the release counted and advance `closed` FIRST, then drop the window's cells.

        All these records go to one changelog partition, in order: if a crash leaves only some of them, either
        `closed` is missing too (the whole window is still there and is released again, identically) or it is
        there and the leftover cells are discarded unreleased (`drop_released_leftovers`). A window is never
        released twice from partial state.
        """
        self.table[b"rel|%d|%d" % (partition, window)] = _dump_ranges(offsets)
        self.released[(partition, window)] = offsets
        self.counted_ranges.pop((partition, window), None)
        self.set_int(f"closed|{partition}", closed)
        self._drop_cells(partition, window)
        for (p, old) in [k for k in self.released if k[0] == partition and k[1] < forget_before_ms]:
            self.released.pop((p, old))
            self.table.pop(b"rel|%d|%d" % (p, old), None)

    def _drop_cells(self, partition: int, window: int) -> None:
        self.counted_ranges.pop((partition, window), None)
        for key in self.windows(partition).pop(window, ()):
            if key in self.table:
                del self.table[key]

    def drop_released_leftovers(self, partition: int, size_ms: int) -> int:
        """Cells of windows already released (a crash between `closed` and the deletes): discard them."""
        closed = self.closed(partition)
        stale = [w for w in self.windows(partition) if w + size_ms <= closed]
        for window in stale:
            self._drop_cells(partition, window)
        return len(stale)

    def released_ranges(self, partition: int, window: int) -> dict[str, RangeSet]:
        if (partition, window) not in self.released:
            raw = self.table.get(b"rel|%d|%d" % (partition, window))
            self.released[(partition, window)] = _load_ranges(raw) if raw else {}
        return self.released[(partition, window)]

    def not_counted(self, partition: int, window: int, stream: str, positions: np.ndarray) -> np.ndarray:
        """Mask of rows of a released window that its release did not count: late events, not replays."""
        ranges = self.released_ranges(partition, window).get(stream)
        return np.ones(len(positions), dtype=bool) if ranges is None else ~ranges.covers(positions)

    def count_late(self, partition: int, window: int, stream: str, lo: int, hi: int) -> None:
        """Remember late rows as counted with the release, so a replay does not count them late again."""
        ranges = self.released_ranges(partition, window)
        ranges.setdefault(stream, RangeSet()).add(lo, hi)
        self.table[b"rel|%d|%d" % (partition, window)] = _dump_ranges(ranges)


def _record_range(key: bytes) -> tuple[str, int, int] | None:
    """(stream, lo, hi) a cell record counts; an older record's single order counts as [order, order]."""
    if not key.startswith(b"d|"):
        return None
    _, _, _, stream, span = key.decode().split("|")
    lo, _, hi = span.partition("-")
    return stream, int(lo), int(hi or lo)


def _dump_ranges(ranges: dict[str, RangeSet]) -> bytes:
    return orjson.dumps({stream: [list(r) for r in rs] for stream, rs in ranges.items()})


def _load_ranges(raw: bytes) -> dict[str, RangeSet]:
    """{stream: [[lo, hi], …]}; an older record's {source: order} counts everything up to that order."""
    ranges: dict[str, RangeSet] = {}
    for stream, value in orjson.loads(raw).items():
        ranges[stream] = RangeSet([(0, int(value))] if isinstance(value, int) else [tuple(r) for r in value])
    return ranges
