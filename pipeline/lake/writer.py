"""Atomic, idempotent Parquet writes: one file per (zone, date partition, batch id), temp name then rename.

Delivery guarantee: the sink agent calls `write_batch` before the source message is acknowledged, so offsets
are committed only after the file is durable (fsync of file and directory). File names derive from batch ids,
which derive from source offsets, so a replay after a crash rewrites the same files: exactly-once rows on disk
under at-least-once delivery.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.failpoints import failpoint
from pipeline.lake.layout import DATE_COLUMN, batch_file_name, zone_dir

PARQUET_COMPRESSION = "zstd"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write, mode: int = 0o640) -> None:
    """Call `write(tmp_path)` then rename onto `path`; readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        failpoint("lake.before_rename")
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression=PARQUET_COMPRESSION))


def remove_stale_temp_files(root: Path, older_than_seconds: float = 3600.0) -> int:
    """Delete temp files a crashed writer left behind (readers already skip them: their names start with '.')."""
    import time
    removed = 0
    cutoff = time.time() - older_than_seconds
    for path in root.rglob(".*.tmp") if root.exists() else ():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another worker cleaned it up
    return removed


def write_batch(data_dir: str | os.PathLike, zone: str, table: pa.Table, batch_id: str,
                partition_column: str = DATE_COLUMN) -> list[Path]:
    """Write `table` into `zone`, one file per value of `partition_column` (hive style, column not stored)."""
    if table.num_rows == 0:
        return []
    root = zone_dir(data_dir, zone)
    written = []
    keys = table.column(partition_column)
    for value in pc.unique(keys).to_pylist():
        part = table.filter(pc.equal(keys, value)).drop_columns([partition_column])
        path = root / f"{partition_column}={value}" / batch_file_name(batch_id)
        write_parquet_atomic(path, part)
        written.append(path)
    return written
