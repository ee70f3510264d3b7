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
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.columns import KEY_ID_COLUMN
from pipeline.lake.layout import AUDIT, zone_root

BLOCKLIST_FILE = "erased-pseudonyms.json"



@dataclass(frozen=True)
class BlockEntry:
    key_id: str
    column: str
    pseudonym: str
    expires: str  # ISO time (UTC) after which no new event can carry this key


def blocklist_path(data_dir: str | os.PathLike) -> Path:
    # Beside the audit trail: readable by the pipeline account only (the folder gives the group no read right).
    return zone_root(data_dir, AUDIT) / BLOCKLIST_FILE


def load_entries(data_dir: str | os.PathLike) -> list[BlockEntry]:
    path = blocklist_path(data_dir)
    if not path.exists():
        return []
    return [BlockEntry(**item) for item in json.loads(path.read_text(encoding="utf-8"))["entries"]]


def _save(data_dir: str | os.PathLike, entries: list[BlockEntry]) -> None:
    path = blocklist_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".blocklist-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "entries": [asdict(e) for e in entries]}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    mask = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows == 0 or KEY_ID_COLUMN not in table.column_names:
        return mask
    by_column: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        by_column.setdefault((entry.key_id, entry.column), []).append(entry.pseudonym)
    key_ids = table.column(KEY_ID_COLUMN)
    for (key_id, column), tokens in by_column.items():
        if column not in table.column_names:
            continue
        values = table.column(column).cast(pa.string())
        hit = pc.and_(pc.equal(key_ids, key_id), pc.is_in(values, pa.array(tokens, pa.string())))
        mask |= pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
    return mask


class ErasedSubjects:
    """The ingest stage's view of the blocklist: re-read when the file changes (checked at most every few seconds)."""

    def __init__(self, data_dir: str | os.PathLike, check_seconds: float = 5.0):
        self.data_dir = data_dir
        self.check_seconds = check_seconds
        self._entries: list[BlockEntry] = []
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def entries(self) -> list[BlockEntry]:
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
                    self._entries = load_entries(self.data_dir) if stamp else []
                    self._stamp = stamp
        return self._entries

    def drop(self, table: pa.Table) -> tuple[pa.Table, int]:
        """`table` without the erased people's rows, and how many rows went."""
        entries = self.entries()
        if not entries or table.num_rows == 0:
            return table, 0
        mask = blocked_rows(table, entries)
        removed = int(mask.sum())
        return (table.filter(pa.array(~mask)) if removed else table), removed
