"""Assertions shared by lake tests: reading a zone back and fingerprinting its rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline.lake.layout import zone_dir


def read_zone(data_dir, zone) -> pa.Table:
    dataset = ds.dataset(zone_dir(data_dir, zone), format="parquet", partitioning="hive")
    return dataset.to_table()


def row_fingerprints(table: pa.Table) -> list[str]:
    """One hash per row over every column, sorted: equal lists mean equal multisets of rows."""
    columns = sorted(table.column_names)
    rows = table.select(columns).to_pylist()
    return sorted(hashlib.sha256(repr([row[c] for c in columns]).encode()).hexdigest() for row in rows)


def files_state(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root → (mtime_ns, sha256): detects any rewrite, even with identical content."""
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).digest())
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_files(paths) -> pa.Table:
    """Rows of exactly these files (no hive partition column added), schemas unified."""
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
