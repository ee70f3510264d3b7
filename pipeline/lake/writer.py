"""Atomic Parquet writes into hive date partitions of a lake zone: temp name, fsync, rename, fsync the folder.

The sink (pipeline/lake/sink.py) acknowledges messages only after `write_partition_file` returned, so offsets
are committed only after the file is durable (fsync of file and directory); it and pipeline/lake/ledger.py make
rows exactly-once under at-least-once delivery. `write_batch` (one file per batch id) is the older per-message
layout, still read everywhere and used by tests to build lakes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.common.columns import DATE_COLUMN
from pipeline.failpoints import failpoint
from pipeline.lake.layout import batch_file_name, zone_dir

PARQUET_COMPRESSION = "zstd"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write, mode: int = 0o640, failpoint_name: str = "lake.before_rename") -> None:
    """Call `write(tmp_path)` then rename onto `path`; readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        failpoint(failpoint_name)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(path: Path, table: pa.Table, failpoint_name: str = "lake.before_rename") -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression=PARQUET_COMPRESSION),
                 failpoint_name=failpoint_name)


def remove_stale_temp_files(root: Path, older_than_seconds: float = 3600.0) -> int:
    """Delete temp files a crashed writer left behind (readers already skip them: their names start with '.')."""
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


def write_partition_file(data_dir: str | os.PathLike, zone: str, date_value: str, name: str, table: pa.Table,
                         partition_column: str = DATE_COLUMN) -> Path:
    """Write one planned file into `zone`/`partition_column`=`date_value`/ atomically; returns its path."""
    path = zone_dir(data_dir, zone) / f"{partition_column}={date_value}" / name
    write_parquet_atomic(path, table, failpoint_name=f"lake.{zone}.before_rename")
    return path


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
