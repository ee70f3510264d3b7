"""Has every (window, stage partition) of a finite run been released (or refused) in a DP mode?

The k-anonymous check compares exact event totals, which a DP release never publishes; this one compares which
(window, stage partition) pairs hold pseudonymized events with those that have a stats row or a ledger refusal.
Operator tooling (demo, benchmarks) over the restricted zone: nothing here is published.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc

from pipeline.dp.ledger import REFUSED, read_ledger
from pipeline.dp.stream import releasing_partitions
from pipeline.lake.counts import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS, parquet_files, read_zone, zone_rows
from pipeline.policy.model import KAnonSection
from pipeline.pseudonymize.batch import partition_for


def expected_releases(data_dir: Path, config: KAnonSection, partitions: int) -> set[tuple[int, int]]:
    if not parquet_files(data_dir, PSEUDONYMIZED):
        return set()
    table = read_zone(data_dir, PSEUDONYMIZED).select(["event_hour", config.partition_column])
    size_ms = config.window.size_seconds * 1000
    hours = table.column("event_hour").cast("int64").to_numpy()
    windows = (hours // size_ms) * size_ms
    values = table.column(config.partition_column).to_pylist()
    route = {v: partition_for(v, partitions) for v in set(values)}
    releasing = set(releasing_partitions(config, partitions))
    return {(int(w), route[v]) for w, v in zip(windows.tolist(), values) if route[v] in releasing}


def windows_released(data_dir: Path, config: KAnonSection, partitions: int) -> bool:
    done: set[tuple[int, int]] = set()
    published = 0
    if parquet_files(data_dir, WINDOW_STATS):
        stats = read_zone(data_dir, WINDOW_STATS)
        stats = stats.filter(pc.equal(stats.column("kind"), "window"))
        starts = stats.column("window_start").cast("int64").to_pylist()
        done |= set(zip(starts, stats.column("partition").to_pylist()))
        published = int(pc.sum(stats.column("published_cells")).as_py() or 0)
    ledger = read_ledger(data_dir)
    refused = ledger.filter(pc.equal(ledger.column("status"), REFUSED))
    done |= set(zip(refused.column("window_start").cast("int64").to_pylist(), refused.column("partition").to_pylist()))
    expected = expected_releases(data_dir, config, partitions)
    return bool(expected) and expected <= done and zone_rows(data_dir, AGGREGATES) >= published
