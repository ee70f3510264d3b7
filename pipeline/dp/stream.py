"""The kanon stage's DP release of one (window, stage partition): charge the ledger, then build the output tables.

Called by pipeline/kanon/agent.py instead of the k-anonymous release when the policy says `kanon.release: dp` or
`both`. The window's ε is split evenly over the stage partitions that release (one person's events reach several
partitions that never see each other), and each may spend at most `epsilon_per_period` / (their number) per
period: together they stay within the policy's period budget without coordinating. In `dp` mode with the
partition column in the public domain only the partitions that own a listed value release (the others could only
hold unlisted values, published nowhere), and every window from the first one onwards is released, data or not:
whether a partition had events in an hour is itself something one person can change. The ledger is charged
before anything is sent (docs/dp.md, pipeline/dp/ledger.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.common.columns import DATE_COLUMN, POLICY_VERSION_COLUMN
from pipeline.dp.ledger import BudgetLedger
from pipeline.dp.release import DPWindowRelease, release_dp, window_epsilon
from pipeline.kanon.core import Cell, CellState
from pipeline.kanon.stats import STATS_SCHEMA, aggregate_schema
from pipeline.linkage import subject_ids
from pipeline.policy.model import KAnonSection
from pipeline.pseudonymize.batch import partition_for


@dataclass
class StreamRelease:
    aggregates: pa.Table | None   # None: refused (budget spent), nothing is sent
    stats: pa.Table | None
    refused_reason: str = ""


def cell_rows(cells: dict[Cell, CellState]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """One row per (cell, identity) with its events, the identity replaced by its person: the connected
    component of identifiers over all these cells (the same linkage and scope as kanon's `link_people`, without
    building its per-cell sets, which the DP release does not need). Rows of one person in one cell are summed
    by the bounding step."""
    keys = list(cells)
    identity_index: dict = {}
    row_cell: list[int] = []
    row_identity: list[int] = []
    row_events: list[int] = []
    for position, cell in enumerate(keys):
        state = cells[cell]
        counts = state.counts or dict.fromkeys(state.subjects, 1)  # records of older versions carry no counts
        for identity, count in counts.items():
            row_cell.append(position)
            row_identity.append(identity_index.setdefault(identity, len(identity_index)))
            row_events.append(count)
    width = len(keys[0]) if keys else 0
    if not identity_index:
        return [np.array([], dtype=object) for _ in range(width)], np.zeros(0, np.int64), np.zeros(0, np.int64)
    distinct = list(identity_index)
    columns = max(len(t) for t in distinct)  # 1-tuples of older records pad into the first column
    person = subject_ids([[t[j] if j < len(t) else None for t in distinct] for j in range(columns)])
    cell_values = np.array(keys, dtype=object).reshape(len(keys), width)[np.array(row_cell)]
    return ([cell_values[:, j] for j in range(width)], person[np.array(row_identity)],
            np.array(row_events, dtype=np.int64))


def partition_values(config: KAnonSection, partition: int, partitions: int) -> list[str] | None:
    column = config.dp.domain.get(config.partition_column)
    if column is None:
        return None
    return [v for v in column.values if partition_for(v, partitions) == partition]


def releasing_partitions(config: KAnonSection, partitions: int) -> list[int]:
    """Stage partitions that publish a DP release (and share the window's ε)."""
    column = config.dp.domain.get(config.partition_column)
    if config.release != "dp" or column is None:
        return list(range(partitions))
    return sorted({partition_for(v, partitions) for v in column.values})


def due_windows(windows_with_data, closed_ms: int, size_ms: int) -> list[int]:
    """Windows to release in `dp` mode: every window from the next unreleased one (or the first with data) up to
    the latest with data, empty ones included, so the set of released windows does not depend on anyone's data."""
    windows = sorted(windows_with_data)
    if not windows:
        return []
    start = closed_ms if closed_ms else windows[0]
    return sorted(set(windows) | set(range(start, windows[-1] + 1, size_ms)))


def _date(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def tables(window_ms: int, release: DPWindowRelease, config: KAnonSection, mode: str, policy_version: str,
           partition: int) -> tuple[pa.Table, pa.Table]:
    """Aggregate rows (noisy counts with their 95 % intervals) and the window's stats row.

    The stats row holds only sums of the published noisy rows (post-processing) and, in `suppressed_users`, the
    noisy number of people whose contribution was cut; `suppressed_events` is null: it is not released.
    """
    names = list(config.cell_attributes)
    rows = release.rows
    end_ms = window_ms + config.window.size_seconds * 1000
    n = len(rows)
    columns = {"window_start": [window_ms] * n, "window_end": [end_ms] * n,
               config.partition_column: [r.cell[0] for r in rows]}
    for i, name in enumerate(names):
        columns[name] = [r.cell[i + 1] for r in rows]
    for i, name in enumerate(names):
        columns[f"{name}_level"] = [r.levels[i] for r in rows]
    columns.update(events=[r.events for r in rows], users=[r.users for r in rows], k=[config.k] * n,
                   policy_version=[policy_version] * n, event_date=[_date(window_ms)] * n, release=[mode] * n,
                   events_ci95=[r.events_ci95 for r in rows], users_ci95=[r.users_ci95 for r in rows])
    aggregates = pa.table(columns, schema=aggregate_schema(config))
    stats = pa.table({
        "window_start": [window_ms], "window_end": [end_ms], "kind": ["window"], "partition": [partition],
        "events": [sum(r.events for r in rows)], "users": [sum(r.users for r in rows)], "published_cells": [n],
        "rolled_up_cells": [0], "suppressed_events": [None], "suppressed_users": [release.cut_people],
        "late_events": [0], "k": [config.k], POLICY_VERSION_COLUMN: [policy_version], DATE_COLUMN: [_date(window_ms)],
        "withheld": [False]},
        schema=STATS_SCHEMA)
    return aggregates, stats


def release_window(window_ms: int, cells: dict[Cell, CellState], config: KAnonSection, policy_version: str,
                   partition: int, partitions: int, ledger: BudgetLedger) -> StreamRelease:
    mode = config.release
    releasing = releasing_partitions(config, partitions)
    if partition not in releasing:
        return StreamRelease(None, None, "no public value of the partition column is routed to this partition")
    share = 1 / len(releasing)
    release_id = f"w{window_ms}-p{partition:03d}"
    decision = ledger.decide(window_ms, partition, window_epsilon(config, share),
                             config.dp.epsilon_per_period / len(releasing))
    if not decision.allowed:
        ledger.refuse(release_id, window_ms, partition, mode, decision)
        return StreamRelease(None, None, decision.reason)
    columns, subjects, events = cell_rows(cells)
    if not columns:
        columns = [[] for _ in range(1 + len(config.cell_attributes))]
    release = release_dp(columns, subjects, events, config=config, mode=mode, share=share,
                         partition_values=partition_values(config, partition, partitions))
    ledger.charge(release_id, window_ms, partition, mode, release.spends)
    aggregates, stats = tables(window_ms, release, config, mode, policy_version, partition)
    return StreamRelease(aggregates, stats)
