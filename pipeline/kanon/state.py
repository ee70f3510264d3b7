"""Window state of the k-anonymity stage in a faust table: per-batch cell deltas, watermarks, release records.

Keys (bytes; raw serializer), each carrying the stage partition so a worker only ever releases its own:
  d|<partition>|<window ms>|<source>|<order>  → {"ids": [identity tuples], "cells": {cell json: [events,
                                                [id index], ([id index, sensitive value])]}}: one batch's
                                                contribution to one window
  c|<partition>|<window ms>|<bucket>          → merged cells of earlier versions ({"cells": …, "o": {source:
                                                offset}}); still read, so open windows survive an upgrade
  wm|<partition>|<source>                     → newest event-time bucket delivered by that raw-topic partition (ms)
  wmctl|<partition>                           → watermark forced by a control message (end of a finite run)
  closed|<partition>                          → windows ending at or before this (ms) are released
  rel|<partition>|<window ms>                 → {source: offset} of the batches counted in that released window

Each batch writes one changelog record per window it touches (usually one), holding only its own cells: the cost
of a batch does not grow with the window, and a record stays far below the 1 MB message limit however many
people a window counts. (Earlier versions rewrote 8 merged buckets per batch: cost and record size grew with the
window.) Idempotence: the key names the batch's source (raw partition) and order, so a replayed batch rewrites
its own key and is counted once; the window's cells are merged from its deltas at release.
"""

from __future__ import annotations

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
    """Typed access to the table (which holds the serialized truth) with an in-memory index of its keys."""

    def __init__(self, table, sources: list[str]):
        self.table = table
        self.sources = sources  # raw-topic partitions feeding every partition (a silent one holds windows open)
        self.index: dict[int, dict[int, set[bytes]]] = {}  # partition → window → cell record keys
        self.marks: dict[int, dict[str, int]] = {}  # partition → source → newest event time (ms)
        self.released: dict[tuple[int, int], dict[str, int]] = {}

    def reset(self, *_args, **_kwargs) -> None:
        """After a rebalance or recovery, rebuild everything from the table."""
        self.index.clear()
        self.marks.clear()
        self.released.clear()

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
    def apply(self, partition: int, window: int, updates: dict[Cell, CellState], source: str, offset: int) -> None:
        """Record one batch's pre-aggregated cells of one window; a replayed batch (same key) is skipped.

        The record lists the batch's distinct identity tuples once ("ids") and each cell refers to them by index:
        people are linked at release, over the whole window, so every identifier of an event must be kept.
        """
        key = b"d|%d|%d|%s|%d" % (partition, window, source.encode(), offset)
        keys = self.windows(partition)[window]
        if key in keys:
            return  # replayed batch: already counted
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

    def has_batch(self, partition: int, window: int, source: str, offset: int) -> bool:
        """Is this batch's contribution to an unreleased window already recorded (a replay)?"""
        return b"d|%d|%d|%s|%d" % (partition, window, source.encode(), offset) in self.windows(partition).get(window, ())

    def absorb(self, partition: int, by_window: dict[int, dict[Cell, CellState]], source: str, offset: int,
               size_ms: int, grace_ms: int) -> dict[int, dict[Cell, CellState]]:
        """Apply one batch; return, per window, the cells that are LATE (never applied, never re-released).

        A window is final once released (`closed`) and also once it is due (end + grace behind the watermark)
        but not yet released: a crash between delivering a window and recording `closed` leaves it in the
        table, and the restarted worker must release exactly what it released before, not that plus events
        that arrived in between. Replays of batches already counted are recognized and dropped silently.
        """
        closed, watermark = self.closed(partition), self.watermark(partition)
        late: dict[int, dict[Cell, CellState]] = {}
        for window, updates in by_window.items():
            if window + size_ms <= closed or window + size_ms + grace_ms <= watermark:
                if not (self.was_counted(partition, window, source, offset)
                        or self.has_batch(partition, window, source, offset)):
                    late[window] = updates
            else:
                self.apply(partition, window, updates, source, offset)
        return late

    def take_window(self, partition: int, window: int) -> tuple[dict[Cell, CellState], dict[str, int]]:
        """All cells of a window merged from its records, and the highest order applied per source."""
        cells: dict[Cell, CellState] = {}
        offsets: dict[str, int] = {}
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
            if key.startswith(b"d|"):
                _, _, _, source, order = key.decode().split("|")
                applied = {source: int(order)}
            else:
                applied = value.get("o", {})
            for source, order in applied.items():
                offsets[source] = max(order, offsets.get(source, -1))
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
