"""Row counts of each lake zone and the DLQ, read from Parquet footers (cheap enough to poll)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS, dlq_dir, zone_dir


def parquet_files(data_dir: Path, zone: str) -> list[Path]:
    root = zone_dir(data_dir, zone)
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith(".")) if root.exists() else []


def zone_rows(data_dir: Path, zone: str) -> int:
    total = 0
    for path in parquet_files(data_dir, zone):
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError):
            continue  # replaced by compaction between listing and reading
    return total


def dlq_rows(data_dir: Path) -> int:
    root = dlq_dir(data_dir)
    if not root.exists():
        return 0
    return sum(sum(1 for line in p.read_bytes().splitlines() if line.strip()) for p in root.rglob("*.ndjson"))


def read_zone(data_dir: Path, zone: str):
    """The whole zone as one Arrow table (hive partition column included)."""
    import pyarrow.dataset as ds  # here, not at import: it loads pandas, and worker processes import this module
    root = zone_dir(data_dir, zone)
    return ds.dataset(root, format="parquet", partitioning="hive").to_table()


def window_stats_totals(data_dir: Path) -> dict[str, int]:
    """Sums over released windows: events, suppressed events and late events."""
    if not parquet_files(data_dir, WINDOW_STATS):
        return {"events": 0, "suppressed_events": 0, "late_events": 0, "windows": 0, "published_cells": 0, "hours": 0}
    import pyarrow.compute as pc
    table = read_zone(data_dir, WINDOW_STATS)
    windows = table.filter(pc.equal(table.column("kind"), "window"))

    def total(rows, column: str) -> int:
        return int(pc.sum(rows.column(column)).as_py() or 0)
    return {"events": total(windows, "events"), "suppressed_events": total(windows, "suppressed_events"),
            "late_events": total(table, "late_events"), "windows": windows.num_rows,
            "published_cells": total(windows, "published_cells"),
            "hours": len(pc.unique(windows.column("window_start")))}  # what users count: hours, not window rows


__all__ = ["AGGREGATES", "PSEUDONYMIZED", "WINDOW_STATS", "dlq_rows", "parquet_files", "read_zone", "zone_rows",
           "window_stats_totals"]
