"""The DLQ folder: dead letters as NDJSON, each written once by source position, whatever a replay's batching.

Every dead letter names its raw message and its place in it (`source`, pipeline/common/rejects.py), so it has a
source position, and every DLQ message is named by the range of positions it claims: "every reject of this raw
partition with a position in [lo, hi] is in this message, or in an earlier one" (pipeline/pseudonymize/batch.py
`_dlq_messages`). A DLQ file is named by its message's id, so the file names alone say which ranges the folder
holds: the name appears with the file's lines in one atomic rename, so no crash can leave lines without their
claim or a claim without its lines. The sink leaves out every dead letter whose position a file already claims,
like the lake sink (pipeline/lake/ledger.py), and keeps the claims merged per stream: the ledger grows with gaps
(restarts, rebalances), not with dead letters.

Dead letters land in the folder of the day they are written, not of the event, so a replay on another day must
see every day's folder: the ledger reads the names of all of them (`lake maintain` deletes folders older than
`dlq_days`; a replay reaching further back than that writes those dead letters again).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from pipeline.common.positions import HeldPositions, parse_range_id
from pipeline.common.rejects import decode_rejects, reject_position
from pipeline.lake.layout import batch_file_name, dlq_dir
from pipeline.lake.writer import write_atomic

SUFFIX = ".ndjson"
# A folder whose modification time is this close to when it was listed is listed again: a file added in the same
# tick of a coarse file-system clock would not change the time the listing saw.
_CLOCK_SLACK_NS = 2_000_000_000


@dataclass
class _Listing:
    mtime_ns: int
    listed_ns: int
    names: frozenset[str]


@dataclass
class DlqLedger:
    """Which source ranges the DLQ folder holds, from its file names (every day's folder).

    A folder is listed again when its modification time changed (a file added, replaced by erasure, or removed)
    or is too recent to trust; the claims are merged again from every name when a name vanished. Kept in memory:
    the merged ranges, and the names of the files (one per DLQ message within `dlq_days`) to notice removals.
    """

    data_dir: Path
    _listings: dict[str, _Listing] = field(default_factory=dict)
    _held: HeldPositions = field(default_factory=lambda: HeldPositions({}, set()))

    def held(self) -> HeldPositions:
        root = dlq_dir(self.data_dir)
        folders = {}
        try:
            with os.scandir(root) as entries:
                for entry in entries:
                    if entry.name.startswith("date=") and entry.is_dir(follow_symlinks=False):
                        folders[entry.path] = entry.stat(follow_symlinks=False).st_mtime_ns
        except FileNotFoundError:
            pass
        rebuild = any(path not in folders for path in self._listings)
        added: list[str] = []
        for path, mtime_ns in folders.items():
            known = self._listings.get(path)
            if known is not None and known.mtime_ns == mtime_ns and known.listed_ns - mtime_ns > _CLOCK_SLACK_NS:
                continue
            listed_ns = time.time_ns()
            names = frozenset(_claim_names(path))
            if known is not None and not known.names <= names:
                rebuild = True
            added += names - known.names if known is not None else names
            self._listings[path] = _Listing(mtime_ns, listed_ns, names)
        for path in [p for p in self._listings if p not in folders]:
            del self._listings[path]
        if rebuild:
            self._held = HeldPositions.from_ids(n for listing in self._listings.values() for n in listing.names)
        else:
            for name in added:
                self._held.add_id(name)
        return self._held


def _claim_names(folder: str) -> list[str]:
    """Batch ids of the DLQ files in one day's folder (temp files of writes in flight are hidden dot-files)."""
    try:
        with os.scandir(folder) as entries:
            return [e.name[: -len(SUFFIX)] for e in entries if e.name.endswith(SUFFIX) and not e.name.startswith(".")]
    except FileNotFoundError:
        return []


def new_dead_letters(lines: list[dict], batch_id: str, held: HeldPositions) -> list[dict]:
    """The lines of one DLQ message that no DLQ file holds yet (nor an earlier line of the same message).

    A line without a source position (older versions) is kept: at-least-once, as before. A message whose id is
    not a range id (older chunk names) is recognised by its whole id only.
    """
    parsed = parse_range_id(batch_id)
    if parsed is None:
        return [] if batch_id in held.batch_ids else lines
    stream = parsed[0]
    positions = [reject_position(line.get("source") if isinstance(line, dict) else None) for line in lines]
    known = [at for at in positions if at is not None]
    ranges = held.ranges.get(stream)
    claimed = set()
    if ranges is not None and known:
        mask = ranges.covers(np.asarray(known, dtype=np.int64))
        claimed = {at for at, hit in zip(known, mask.tolist()) if hit}
    kept, seen = [], set()
    for line, at in zip(lines, positions):
        if at is None:
            kept.append(line)
        elif at not in claimed and at not in seen:
            seen.add(at)
            kept.append(line)
    return kept


def write_dlq(data_dir: Path, payload: bytes, batch_id: str, ledger: DlqLedger | None = None) -> Path | None:
    """Rejects as NDJSON under dlq/date=…/ with owner-only permissions (they hold raw personal data), leaving out
    those a DLQ file already holds; returns the file written, None when every line was already there.

    The file is named by `batch_id`, its claim, even when some lines were left out: they are in earlier files.
    """
    ledger = ledger or DlqLedger(Path(data_dir))
    lines = new_dead_letters(decode_rejects(payload), batch_id, ledger.held())
    if not lines:
        return None
    root = dlq_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    path = root / f"date={day}" / batch_file_name(batch_id, SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            for line in lines:
                handle.write(orjson.dumps(line) + b"\n")
    write_atomic(path, write, mode=0o600, failpoint_name="dlq.before_rename")
    return path
