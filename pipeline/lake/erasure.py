"""Right to erasure of a person: remove every row linked to them (local and object-store lakes, local DLQ),
block their pseudonyms at ingest, report the copies this command cannot reach and when those expire, audit.

What "the person" is comes from pipeline.lake.person (all pseudonyms linked to the given identifiers, under every
key still held, with a component-size cap). Files without the person's rows stay byte-identical.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.keys.ring import ACTIVE, KeyRing
from pipeline.lake.audit import ERASURE_LOG, append_audit
from pipeline.lake.blocklist import BlockEntry, add_entries
from pipeline.lake.compaction import maintenance_lock
from pipeline.lake.layout import AUDIT, PSEUDONYMIZED, dlq_dir
from pipeline.lake.person import (
    DEFAULT_MAX_COMPONENT,
    KEY_ID_COLUMN,
    Person,
    PersonError,
    ZoneSource,
    local_and_remote,
    resolve,
)
from pipeline.lake.writer import PARQUET_COMPRESSION, write_atomic, write_parquet_atomic

# Input field (also the HMAC domain) → (pseudonymized column, hex length) of the default policy; the CLI
# derives the mapping from the deployment's policy (pipeline.policy.loader.pseudonym_fields).
ERASABLE_FIELDS: dict[str, tuple[str, int]] = {
    "user_id": ("user_pseudonym", 16),
    "device_id": ("device_pseudonym", 16),
}
AUDIT_LOG = Path(AUDIT) / ERASURE_LOG
# Kafka deletes whole closed segments only: a copy lives up to retention + one segment (deploy/topics.py rolls
# segments at a quarter of the retention, at least 10 minutes).
_SEGMENT_FRACTION, _MIN_SEGMENT = 4, dt.timedelta(minutes=10)


class ErasureError(PersonError):
    """The request cannot be carried out. Messages never contain the identifier or a pseudonym."""


@dataclass
class Unreachable:
    """A copy of the person's data that this command cannot delete, and when it is gone at the latest."""

    where: str
    holds: str
    expires_by: str  # ISO time, UTC


@dataclass
class ErasureResult:
    files_scanned: int = 0
    files_rewritten: int = 0
    rows_removed: int = 0
    matched_columns: Counter = field(default_factory=Counter)  # column → rows matched through it
    per_key: Counter = field(default_factory=Counter)  # key id → rows removed
    keys_checked: list[str] = field(default_factory=list)
    linked: dict[str, int] = field(default_factory=dict)  # column → pseudonyms added by linkage
    oversized: list[dict] = field(default_factory=list)
    dlq_lines_removed: int = 0
    blocklist_entries: int = 0
    sources: list[str] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)


def _account(table: pa.Table, mask: np.ndarray, person: Person, result: ErasureResult) -> None:
    key_ids = table.column(KEY_ID_COLUMN).to_pylist()
    for row in np.flatnonzero(mask).tolist():
        result.per_key[key_ids[row]] += 1
    for key_id, columns in person.pseudonyms.items():
        for column, values in columns.items():
            if column in table.column_names:
                col = table.column(column).to_pylist()
                result.matched_columns[column] += sum(1 for r in np.flatnonzero(mask).tolist()
                                                      if key_ids[r] == key_id and col[r] in values)


def _erase_source(source: ZoneSource, person: Person, result: ErasureResult) -> None:
    wanted = {KEY_ID_COLUMN} | {c for cols in person.pseudonyms.values() for c in cols}
    for path in source.files():
        result.files_scanned += 1
        names = pq.read_schema(path, filesystem=source.filesystem).names
        if KEY_ID_COLUMN not in names:
            raise ErasureError(f"{path} has no {KEY_ID_COLUMN} column, so its rows cannot be matched to a key")
        # Read only the id columns first: most files hold none of the person's rows and stay byte-identical.
        if not person.mask(source.read(path, [c for c in names if c in wanted])).any():
            continue
        table = source.read(path)
        mask = person.mask(table)
        _account(table, mask, person, result)
        kept = table.filter(pa.array(~mask))
        if source.local:
            write_parquet_atomic(Path(path), kept)
        else:  # an object PUT is atomic: readers see the old or the new object, never a part
            pq.write_table(kept, path, filesystem=source.filesystem, compression=PARQUET_COMPRESSION)
        result.files_rewritten += 1
        result.rows_removed += int(mask.sum())


def mentions_identifier(line: bytes, quoted: list[bytes]) -> bool:
    """Whether a dead-letter line's raw event carries one of the JSON-quoted identifiers (as sent or escaped)."""
    try:
        entry = json.loads(line)
        raw = entry.get("raw", "") if isinstance(entry, dict) else ""
        if isinstance(entry, dict) and entry.get("raw_encoding") == "base64":
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        text = json.dumps(raw) + raw  # the raw event as stored (escaped) and as sent
    except (ValueError, TypeError):
        text = line.decode("utf-8", "replace")
    return any(q.decode() in text for q in quoted)


def erase_from_dlq(data_dir: str | os.PathLike, identifiers: Mapping[str, str]) -> int:
    """Drop dead-letter lines whose raw event carries one of the identifiers as a JSON string; returns how many.

    The DLQ keeps raw events, so the raw identifier (not a pseudonym) is what matches; quoting it avoids
    matching a longer identifier that merely contains it. A file left without lines is kept, empty.
    """
    root = dlq_dir(data_dir)
    if not root.is_dir():
        return 0
    quoted = [json.dumps(str(v)).encode() for v in identifiers.values()]
    removed = 0
    for path in sorted(root.rglob("*.ndjson")):
        if path.name.startswith("."):
            continue
        lines = path.read_bytes().splitlines(keepends=True)
        kept = [line for line in lines if not mentions_identifier(line, quoted)]
        if len(kept) == len(lines):
            continue
        removed += len(lines) - len(kept)
        # An emptied file stays: its name is the DLQ sink's record that these source positions were dead-lettered,
        # so a replay of the raw topic does not write the erased lines again (pipeline/lake/dlq.py).
        write_atomic(path, lambda tmp, body=b"".join(kept): Path(tmp).write_bytes(body), mode=0o600)
    return removed


def topic_copies(retention: Mapping[str, float], now: dt.datetime) -> list[Unreachable]:
    """Kafka topics that may still hold the person's data, and the time by which every such copy is deleted."""
    def by(amount: dt.timedelta) -> str:
        return (now + amount + max(amount / _SEGMENT_FRACTION, _MIN_SEGMENT)).isoformat(timespec="seconds")
    raw, dlq = dt.timedelta(hours=retention["raw_topic_hours"]), dt.timedelta(days=retention["dlq_days"])
    pseudo = dt.timedelta(days=retention["pseudonymized_days"])
    return [
        Unreachable("topic telemetry.raw", "raw events with raw identifiers", by(raw)),
        Unreachable("topic telemetry.dlq", "rejected raw events", by(dlq)),
        Unreachable("topic telemetry.pseudonymized", "pseudonymized rows", by(pseudo)),
        Unreachable("topic anonpipe-kanon-cells-changelog", "open-window cell state (pseudonymous subject ids)",
                    by(pseudo)),
    ]


def _block(data_dir, ring: KeyRing, person: Person, max_age: dt.timedelta, now: dt.datetime) -> int:
    """Block the person's pseudonyms under every key that can still receive events."""
    entries = []
    for key in ring.held_keys():
        expires = key.not_after + max_age
        if key.status != ACTIVE or expires <= now:
            continue
        for column, values in person.pseudonyms.get(key.key_id, {}).items():
            entries += [BlockEntry(key.key_id, column, v, expires.isoformat()) for v in sorted(values)]
    if entries:
        add_entries(data_dir, entries)
    return len(entries)


def erase_person(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
                 fields: Mapping[str, tuple[str, int]] = ERASABLE_FIELDS, lake_url: str | None = None,
                 max_component: int = DEFAULT_MAX_COMPONENT, retention: Mapping[str, float] | None = None,
                 max_age: dt.timedelta = dt.timedelta(days=30), now: dt.datetime | None = None,
                 block: bool = True) -> ErasureResult:
    """Erase the person everywhere this process can reach; see ErasureResult for what it reports."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if not identifiers:
        raise ErasureError("give at least one identifier to erase")
    try:
        sources = local_and_remote(data_dir, lake_url)
        with maintenance_lock(data_dir):
            person = resolve(sources, ring, identifiers, fields, max_component)
            result = ErasureResult(keys_checked=person.keys_checked, linked=person.linked_counts(),
                                   sources=[s.label for s in sources])
            result.oversized = [{"key_id": o.key_id, "identifiers": o.identifiers, "rows": o.rows}
                                for o in person.oversized]
            for source in sources:
                _erase_source(source, person, result)
            result.dlq_lines_removed = erase_from_dlq(data_dir, identifiers)
    except PersonError as exc:
        raise ErasureError(str(exc)) from None
    if block:
        result.blocklist_entries = _block(data_dir, ring, person, max_age, now)
    if retention is not None:
        result.unreachable = topic_copies(retention, now)
    return result


def erase_from_zone(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
                    fields: Mapping[str, tuple[str, int]] = ERASABLE_FIELDS) -> ErasureResult:
    """The local lake only, no blocklist (kept for callers of the earlier, single-zone API)."""
    return erase_person(data_dir, ring, identifiers, fields, block=False)


def append_erasure_audit(data_dir: str | os.PathLike, result: ErasureResult, now: dt.datetime | None = None) -> Path:
    """One JSON line per request: what matched and how much went, never the identifier or its pseudonyms."""
    entry = {
        "action": "forget",
        "zone": PSEUDONYMIZED,
        "sources": result.sources,
        "matched_columns": sorted(result.matched_columns),
        "rows_matched_per_column": dict(sorted(result.matched_columns.items())),
        "rows_removed_per_key": dict(sorted(result.per_key.items())),
        "keys_checked": result.keys_checked,
        "rows_removed": result.rows_removed,
        "files_scanned": result.files_scanned,
        "files_rewritten": result.files_rewritten,
        "linked_pseudonyms_per_column": result.linked,
        "oversized_components_left": result.oversized,
        "dlq_lines_removed": result.dlq_lines_removed,
        "blocklist_entries": result.blocklist_entries,
        "unreachable": [vars(u) for u in result.unreachable],
    }
    return append_audit(data_dir, ERASURE_LOG, entry, now=now, mode=0o600)



def forget(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
           fields: Mapping[str, tuple[str, int]] = ERASABLE_FIELDS, **options) -> tuple[ErasureResult, Path]:
    result = erase_person(data_dir, ring, identifiers, fields, **options)
    return result, append_erasure_audit(data_dir, result)
