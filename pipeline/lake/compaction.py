"""Compaction: merge a date partition's many small batch files into one file, crash-safe and replay-aware."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.common.columns import DATE_COLUMN
from pipeline.lake.layout import ZONES, zone_dir
from pipeline.lake.ledger import MANIFEST_NAME, batch_ids_digest, batch_ids_in_footer, parse_manifest
from pipeline.lake.writer import PARQUET_COMPRESSION, write_atomic

COMPACT_PREFIX = "compact-"
BATCH_ID_COLUMN = "batch_id"
# Row groups of ~128k rows keep scans efficient; sources are ~1k-row files, so buffer before writing.
ROW_GROUP_ROWS = 128 * 1024
READ_BATCH_ROWS = 64 * 1024


class CompactionError(RuntimeError):
    """A partition cannot be compacted (e.g. two files disagree on a column's type)."""


@dataclass
class PartitionResult:
    zone: str
    partition: str
    source_files: int
    rows_in: int = 0
    rows_out: int = 0
    output: str | None = None
    skipped: str | None = None  # why nothing was written

    @property
    def duplicate_rows_dropped(self) -> int:
        return self.rows_in - self.rows_out


@dataclass
class _Source:
    path: Path
    batch_ids: set[str]
    in_manifest: bool = False
    compact: bool = False


@contextlib.contextmanager
def maintenance_lock(data_dir: str | os.PathLike):
    """Serialize compaction and erasure on one lake.

    Without it, erasure could rewrite a source file that a running compaction has already copied, and the
    compaction would then delete the cleaned file and keep the person's rows in the compact file.
    """
    path = Path(data_dir) / "lake" / ".maintenance.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file is closed, also on a crash
        yield


# ---- manifest ---------------------------------------------------------------------------------------------
def read_manifest(partition_dir: Path) -> dict[str, list[str]]:
    """Compact file name → batch ids merged into it; empty when the partition was never compacted."""
    path = partition_dir / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError:
        raise CompactionError(f"compaction manifest {path} is unreadable") from None
    try:
        return parse_manifest(raw)
    except ValueError as exc:
        raise CompactionError(f"compaction manifest {path} is not a manifest ({exc})") from None


def _write_manifest(partition_dir: Path, files: dict[str, list[str]]) -> None:
    payload = json.dumps({"version": 1, "files": files}, indent=1, sort_keys=True).encode("utf-8")
    write_atomic(partition_dir / MANIFEST_NAME, lambda tmp: Path(tmp).write_bytes(payload))


# ---- helpers ----------------------------------------------------------------------------------------------
def compact_file_name(batch_ids) -> str:
    return f"{COMPACT_PREFIX}{batch_ids_digest(batch_ids, 16)}.parquet"


def list_partitions(data_dir: str | os.PathLike, zone: str) -> list[Path]:
    root = zone_dir(data_dir, zone)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(f"{DATE_COLUMN}="))


def data_files(partition_dir: Path) -> list[Path]:
    """Visible Parquet files; temp files of in-flight atomic writes start with '.' and end in '.tmp'."""
    return sorted(p for p in partition_dir.glob("*.parquet") if not p.name.startswith((".", "_")))


def _batch_ids_in_file(path: Path) -> set[str]:
    # The footer also names batches whose rows erasure has since removed; they must stay "taken".
    ids = batch_ids_in_footer(pq.read_metadata(path).metadata)
    if BATCH_ID_COLUMN in pq.read_schema(path).names:
        ids |= set(pc.unique(pq.read_table(path, columns=[BATCH_ID_COLUMN]).column(0)).drop_null().to_pylist())
    return ids


def unified_schema(paths: list[Path]) -> pa.Schema:
    """One schema for all files: new optional columns are appended and null-filled for older files."""
    schemas = [pq.read_schema(p).remove_metadata() for p in paths]
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CompactionError(f"files in {paths[0].parent} have incompatible schemas: {exc}") from None
    if BATCH_ID_COLUMN not in unified.names:
        unified = unified.append(pa.field(BATCH_ID_COLUMN, pa.string()))
    # A column absent from some file will hold nulls there, so it must be nullable in the merged file.
    present_everywhere = set.intersection(*(set(s.names) for s in schemas))
    return pa.schema([f if f.name in present_everywhere else f.with_nullable(True) for f in unified])


def _conform(batch: pa.RecordBatch, schema: pa.Schema, fallback_batch_id: str) -> pa.Table:
    columns = []
    for f in schema:
        if f.name in batch.schema.names:
            columns.append(batch.column(f.name).cast(f.type))
        elif f.name == BATCH_ID_COLUMN:
            # Files written without a batch_id column: the file name is the batch id.
            columns.append(pa.array([fallback_batch_id] * batch.num_rows, pa.string()))
        else:
            columns.append(pa.nulls(batch.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _gather_sources(partition_dir: Path) -> tuple[dict[str, list[str]], list[_Source]]:
    """Sources in priority order: manifest-listed compact files, then orphan compact files, then batch files.

    The first source holding a batch id wins it; later copies of that batch (crash leftovers, replays the
    sink did not skip) are dropped, so a re-run never duplicates rows.
    """
    manifest = read_manifest(partition_dir)
    listed, orphans, batches = [], [], []
    for path in data_files(partition_dir):
        if path.name in manifest:
            # Manifest ids count even if erasure has since removed every row of a batch from the file.
            ids = set(manifest[path.name]) | _batch_ids_in_file(path)
            listed.append(_Source(path, ids, in_manifest=True, compact=True))
        elif path.name.startswith(COMPACT_PREFIX):
            orphans.append(_Source(path, _batch_ids_in_file(path), compact=True))
        else:
            batches.append(_Source(path, {path.stem} | _batch_ids_in_file(path)))
    return manifest, listed + orphans + batches


def _is_already_compact(manifest: dict[str, list[str]], sources: list[_Source]) -> bool:
    return len(sources) == 1 and sources[0].in_manifest and list(manifest) == [sources[0].path.name]


# ---- the operation ----------------------------------------------------------------------------------------
def compact_partition(partition_dir: Path, zone: str, min_files: int = 2, dry_run: bool = False) -> PartitionResult:
    """Merge every file of one partition into `compact-<hash>.parquet`; callers hold `maintenance_lock`."""
    manifest, sources = _gather_sources(partition_dir)
    result = PartitionResult(zone, partition_dir.name, len(sources))
    if not sources:
        result.skipped = "no files"
        return result
    if _is_already_compact(manifest, sources):
        result.skipped = "already compact"
        return result
    if len(sources) < min_files and not any(s.compact for s in sources):
        result.skipped = f"fewer than {min_files} files"
        return result

    schema = unified_schema([s.path for s in sources])
    all_ids = set().union(*(s.batch_ids for s in sources))
    out_name = compact_file_name(all_ids)
    result.output = out_name
    for s in sources:
        result.rows_in += pq.ParquetFile(s.path).metadata.num_rows
    if dry_run:
        return result

    def write(tmp: str) -> None:
        taken: set[str] = set()
        pending: list[pa.Table] = []
        pending_rows = 0
        with pq.ParquetWriter(tmp, schema, compression=PARQUET_COMPRESSION) as writer:
            for source in sources:
                fresh = source.batch_ids - taken
                for batch in pq.ParquetFile(source.path).iter_batches(batch_size=READ_BATCH_ROWS):
                    table = _conform(batch, schema, source.path.stem)
                    if fresh != source.batch_ids:
                        table = table.filter(pc.is_in(table.column(BATCH_ID_COLUMN), pa.array(sorted(fresh),
                                                                                              pa.string())))
                    if table.num_rows:
                        pending.append(table)
                        pending_rows += table.num_rows
                        result.rows_out += table.num_rows
                    if pending_rows >= ROW_GROUP_ROWS:
                        writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                        pending, pending_rows = [], 0
                taken |= source.batch_ids
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)

    # Order matters for crash safety: (1) compact file, (2) manifest naming it, (3) delete the sources.
    # A crash after (1) leaves an orphan compact file; after (2), leftover sources. Either way the next run
    # merges everything again and the batch-id rule above drops the second copy of each batch.
    write_atomic(partition_dir / out_name, write)
    _write_manifest(partition_dir, {out_name: sorted(all_ids)})
    for source in sources:
        if source.path.name != out_name:
            source.path.unlink(missing_ok=True)
    return result


def compact_zone(data_dir: str | os.PathLike, zone: str, min_files: int = 2, dry_run: bool = False,
                 dates: set[str] | None = None) -> list[PartitionResult]:
    if zone not in ZONES:
        raise CompactionError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
    results = []
    with maintenance_lock(data_dir):
        for partition_dir in list_partitions(data_dir, zone):
            if dates and partition_dir.name.split("=", 1)[1] not in dates:
                continue
            results.append(compact_partition(partition_dir, zone, min_files=min_files, dry_run=dry_run))
    return results
