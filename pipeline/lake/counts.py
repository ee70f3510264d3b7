"""Row counts of each lake zone and the DLQ, read from Parquet footers (cheap enough to poll)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
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
    root = zone_dir(data_dir, zone)
    return ds.dataset(root, format="parquet", partitioning="hive").to_table()


def window_stats_totals(data_dir: Path) -> dict[str, int]:
    """Sums over released windows: events, suppressed events and late events."""
    if not parquet_files(data_dir, WINDOW_STATS):
        return {"events": 0, "suppressed_events": 0, "late_events": 0, "windows": 0, "published_cells": 0}
    table = read_zone(data_dir, WINDOW_STATS).to_pandas()
    windows = table[table["kind"] == "window"]
    return {"events": int(windows["events"].sum()), "suppressed_events": int(windows["suppressed_events"].sum()),
            "late_events": int(table["late_events"].sum()), "windows": int(len(windows)),
            "published_cells": int(windows["published_cells"].sum())}


__all__ = ["AGGREGATES", "PSEUDONYMIZED", "WINDOW_STATS", "dlq_rows", "parquet_files", "read_zone", "zone_rows",
           "window_stats_totals"]
