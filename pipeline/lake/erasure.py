"""Right to erasure: remove one person's rows from the pseudonymized zone and append an audit record."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.common.columns import KEY_ID_COLUMN
from pipeline.keys.pseudonym import pseudonym
from pipeline.keys.ring import KeyRing
from pipeline.lake.compaction import maintenance_lock
from pipeline.lake.layout import PSEUDONYMIZED, zone_dir
from pipeline.lake.writer import write_parquet_atomic

# Input field (also the HMAC domain) → (pseudonymized column, hex length) of the default policy; the CLI
# derives the mapping from the deployment's policy (pipeline.policy.loader.pseudonym_fields).
ERASABLE_FIELDS: dict[str, tuple[str, int]] = {
    "user_id": ("user_pseudonym", 16),
    "device_id": ("device_pseudonym", 16),
}
AUDIT_LOG = Path("audit") / "erasure.log"


class ErasureError(ValueError):
    """The request cannot be carried out. Messages never contain the identifier or a pseudonym."""


@dataclass
class ErasureResult:
    files_scanned: int = 0
    files_rewritten: int = 0
    rows_removed: int = 0
    matched_columns: Counter = field(default_factory=Counter)  # column → rows matched through it
    per_key: Counter = field(default_factory=Counter)  # key id → rows removed
    keys_checked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    key_id: str
    column: str
    token: str


def _targets(ring: KeyRing, identifiers: Mapping[str, str], fields: Mapping[str, tuple[str, int]]) -> list[_Target]:
    targets = []
    for field_name, value in identifiers.items():
        if field_name not in fields:
            raise ErasureError(f"field {field_name!r} is not erasable; known: {', '.join(sorted(fields))}")
        if not value:
            raise ErasureError(f"an empty {field_name} was given")
        column, length = fields[field_name]
        for key in ring.held_keys():
            targets.append(_Target(key.key_id, column, pseudonym(key.secret, field_name, str(value), length)))
    return targets


def _match(table: pa.Table, targets: list[_Target], result: ErasureResult) -> pa.Array:
    """Boolean mask of rows made from the person's identifiers: the right pseudonym under the right key."""
    mask = pa.array(np.zeros(table.num_rows, dtype=bool))
    key_ids = table.column(KEY_ID_COLUMN)
    per_row_key: list[str | None] = [None] * table.num_rows
    for target in targets:
        if target.column not in table.column_names:
            continue
        hit = pc.fill_null(pc.and_(pc.equal(key_ids, target.key_id),
                                   pc.equal(table.column(target.column), target.token)), False)
        count = pc.sum(hit).as_py() or 0
        if count:
            result.matched_columns[target.column] += count
            for row in pc.indices_nonzero(hit).to_pylist():
                per_row_key[row] = target.key_id
            mask = pc.or_(mask, hit)
    for key_id in per_row_key:
        if key_id is not None:
            result.per_key[key_id] += 1
    return mask


def erase_from_zone(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
                    fields: Mapping[str, tuple[str, int]] = ERASABLE_FIELDS) -> ErasureResult:
    """Rewrite (atomically) every pseudonymized file holding the person's rows; other files are not touched."""
    result = ErasureResult(keys_checked=[k.key_id for k in ring.held_keys()])
    if not identifiers:
        raise ErasureError("give at least one identifier to erase")
    targets = _targets(ring, identifiers, fields)
    root = zone_dir(data_dir, PSEUDONYMIZED)
    if not root.is_dir():
        return result
    with maintenance_lock(data_dir):
        _erase_files(root, targets, result)
    return result


def _erase_files(root: Path, targets: list[_Target], result: ErasureResult) -> None:
    wanted = {KEY_ID_COLUMN} | {t.column for t in targets}
    for path in sorted(root.glob("*/*.parquet")):
        if path.name.startswith((".", "_")):
            continue
        result.files_scanned += 1
        names = pq.read_schema(path).names
        if KEY_ID_COLUMN not in names:
            raise ErasureError(f"{path} has no {KEY_ID_COLUMN} column, so its rows cannot be matched to a key")
        # Read only the id columns first: most files hold none of the person's rows and stay byte-identical.
        probe = pq.read_table(path, columns=[c for c in names if c in wanted])
        mask = _match(probe, targets, ErasureResult())
        if not pc.any(mask).as_py():
            continue
        table = pq.read_table(path)
        mask = _match(table, targets, result)
        removed = pc.sum(mask).as_py()
        write_parquet_atomic(path, table.filter(pc.invert(mask)))
        result.files_rewritten += 1
        result.rows_removed += removed


def append_audit(data_dir: str | os.PathLike, result: ErasureResult, now: dt.datetime | None = None) -> Path:
    """One JSON line per request: what matched and how much went, never the identifier or its pseudonyms."""
    path = Path(data_dir) / AUDIT_LOG
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry = {
        "time": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "request_id": uuid.uuid4().hex,  # random: lets an operator cite the entry without naming the person
        "action": "forget",
        "zone": PSEUDONYMIZED,
        "matched_columns": sorted(result.matched_columns),
        "rows_matched_per_column": dict(sorted(result.matched_columns.items())),
        "rows_removed_per_key": dict(sorted(result.per_key.items())),
        "keys_checked": result.keys_checked,
        "rows_removed": result.rows_removed,
        "files_scanned": result.files_scanned,
        "files_rewritten": result.files_rewritten,
    }
    line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    # O_APPEND: concurrent writers never interleave inside a line and earlier lines are never rewritten.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def forget(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
           fields: Mapping[str, tuple[str, int]] = ERASABLE_FIELDS) -> tuple[ErasureResult, Path]:
    result = erase_from_zone(data_dir, ring, identifiers, fields)
    return result, append_audit(data_dir, result)
