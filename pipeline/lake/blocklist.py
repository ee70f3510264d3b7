"""Erased people's pseudonyms, per key: new events carrying them are dropped at ingest until the key's epoch closes.

`forget` adds the person's pseudonyms under every key it holds (past, current and already-created future keys).
An entry lives until no new event can use its key any more: the key's `not_after` plus the policy's
`max_age_days` (older events are refused by validation); `anonpipe lake maintain` then deletes it, so the list
does not keep pseudonyms of erased people longer than it must. Keys created after the erasure are not covered
(their pseudonyms cannot be computed without the identifier, which is not kept): docs/lake.md says so.
Blocked rows are dropped, never dead-lettered: the DLQ holds raw events, which would undo the erasure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.common.columns import KEY_ID_COLUMN
from pipeline.common.private_file import write_private_json
from pipeline.lake.layout import ERASURE, ZONE_ACCESS, zone_root

BLOCKLIST_FILE = "erased-pseudonyms.json"



@dataclass(frozen=True)
class BlockEntry:
    key_id: str
    column: str
    pseudonym: str
    expires: str  # ISO time (UTC) after which no new event can carry this key


def blocklist_path(data_dir: str | os.PathLike) -> Path:
    """In a folder of the pipeline account only (0700): nobody else can read the pseudonyms or plant entries."""
    return zone_root(data_dir, ERASURE) / BLOCKLIST_FILE


def load_entries(data_dir: str | os.PathLike) -> list[BlockEntry]:
    path = blocklist_path(data_dir)
    if not path.exists():
        return []
    return [BlockEntry(**item) for item in json.loads(path.read_text(encoding="utf-8"))["entries"]]


def _save(data_dir: str | os.PathLike, entries: list[BlockEntry]) -> None:
    path = blocklist_path(data_dir)
    path.parent.mkdir(mode=ZONE_ACCESS[ERASURE].dir_mode, parents=True, exist_ok=True)
    write_private_json(path, {"version": 1, "entries": [asdict(e) for e in entries]}, prefix=".blocklist-")


def add_entries(data_dir: str | os.PathLike, new: Iterable[BlockEntry]) -> int:
    """Add entries (duplicates merge, keeping the later expiry); returns how many the list holds now."""
    merged = {(e.key_id, e.column, e.pseudonym): e for e in load_entries(data_dir)}
    for entry in new:
        held = merged.get((entry.key_id, entry.column, entry.pseudonym))
        if held is None or held.expires < entry.expires:
            merged[(entry.key_id, entry.column, entry.pseudonym)] = entry
    _save(data_dir, list(merged.values()))
    return len(merged)


def expire_blocklist(data_dir: str | os.PathLike, now: dt.datetime) -> int:
    """Delete entries whose key can no longer receive events; returns how many went."""
    entries = load_entries(data_dir)
    keep = [e for e in entries if dt.datetime.fromisoformat(e.expires) > now]
    if len(keep) != len(entries):
        _save(data_dir, keep)
    return len(entries) - len(keep)


def blocked_rows(table: pa.Table, entries: Iterable[BlockEntry]) -> np.ndarray:
    """Boolean mask of rows carrying a blocked pseudonym under the key it was blocked for (pure, no I/O)."""
    return BlockIndex(entries).mask(table)


_HEX_VALUE = np.zeros(256, dtype=np.uint32)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16)
_HEX_VALUE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


PREFIX_DIGITS = 5  # a 2**20-entry table (1 MB per column): ~1 % of rows are candidates with 10,000 entries


def _prefixes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(value of each string's first PREFIX_DIGITS hex digits, whether the row is that long) for a string column."""
    size = len(strings)
    _, offset_buffer, data_buffer = strings.buffers()
    if size == 0 or offset_buffer is None:
        return np.zeros(size, np.uint32), np.zeros(size, bool)
    offsets = np.frombuffer(offset_buffer, np.int32, size + 1, strings.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    if not len(data):
        data = np.zeros(1, np.uint8)
    full = np.diff(offsets) >= PREFIX_DIGITS
    if strings.null_count:
        full &= strings.is_valid().to_numpy(zero_copy_only=False)
    starts = np.where(full, offsets[:-1], 0)
    value = np.zeros(size, np.uint32)
    for position in range(PREFIX_DIGITS):
        # mode="clip": a short row (not `full`, its value unused) never reads past the buffer
        value = value << 4 | _HEX_VALUE[np.take(data, starts + position, mode="clip")]
    return value, full


class BlockIndex:
    """Blocked pseudonyms prepared for per-batch checks: a table of their first PREFIX_DIGITS hex digits per column
    rules out nearly every row at numpy speed; only the few candidates are compared exactly (no false negative:
    a blocked value always marks its own prefix, and shorter rows are always compared)."""

    def __init__(self, entries: Iterable[BlockEntry]):
        self.exact: dict[str, dict[str, frozenset[str]]] = {}
        grouped: dict[str, dict[str, set[str]]] = {}
        for entry in entries:
            grouped.setdefault(entry.column, {}).setdefault(entry.key_id, set()).add(entry.pseudonym)
        self.prefix_table: dict[str, np.ndarray] = {}
        for column, by_key in grouped.items():
            self.exact[column] = {key: frozenset(values) for key, values in by_key.items()}
            every = [v for values in by_key.values() for v in values]
            marks = np.zeros(1 << (4 * PREFIX_DIGITS), dtype=bool)
            prefixes, full = _prefixes(pa.array(every, pa.string()))
            marks[prefixes[full]] = True
            self.prefix_table[column] = marks

    def mask(self, table: pa.Table) -> np.ndarray:
        hit = np.zeros(table.num_rows, dtype=bool)
        if table.num_rows == 0 or KEY_ID_COLUMN not in table.column_names or not self.exact:
            return hit
        key_ids = None
        for column, by_key in self.exact.items():
            if column not in table.column_names:
                continue
            values = table.column(column).cast(pa.string()).combine_chunks()
            prefixes, full = _prefixes(values)
            candidates = np.flatnonzero(np.where(full, self.prefix_table[column][prefixes], values.is_valid()
                                                 .to_numpy(zero_copy_only=False)))
            if not len(candidates):
                continue
            if key_ids is None:
                key_ids = table.column(KEY_ID_COLUMN).cast(pa.string()).combine_chunks()
            rows = pa.array(candidates)
            for row, key_id, value in zip(candidates.tolist(), key_ids.take(rows).to_pylist(),
                                          values.take(rows).to_pylist()):
                if value in by_key.get(key_id, ()):
                    hit[row] = True
        return hit


class ErasedSubjects:
    """The ingest stage's view of the blocklist: re-read when the file changes (checked at most every few seconds)."""

    def __init__(self, data_dir: str | os.PathLike, check_seconds: float = 5.0):
        self.data_dir = data_dir
        self.check_seconds = check_seconds
        self._index = BlockIndex([])
        self._count = 0
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def index(self) -> "BlockIndex":
        now = time.monotonic()
        if now - self._checked >= self.check_seconds:
            with self._lock:
                self._checked = now
                try:
                    info = blocklist_path(self.data_dir).stat()
                    stamp = (info.st_mtime_ns, info.st_size)
                except FileNotFoundError:
                    stamp = None
                if stamp != self._stamp:
                    entries = load_entries(self.data_dir) if stamp else []
                    self._index, self._count, self._stamp = BlockIndex(entries), len(entries), stamp
        return self._index

    def drop(self, table: pa.Table) -> tuple[pa.Table, int]:
        """`table` without the erased people's rows, and how many rows went."""
        index = self.index()
        if not self._count or table.num_rows == 0:
            return table, 0
        mask = index.mask(table)
        removed = int(mask.sum())
        return (table.filter(pa.array(~mask)) if removed else table), removed
