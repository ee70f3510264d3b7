"""Output tables of a window release: aggregate rows, and window-stats rows that never show a count under k people.

Which numbers of a stats row are published (docs/kanon.md has the argument):
- `published_cells`, `rolled_up_cells` count cells, not people: always.
- `suppressed_events`, `suppressed_users` cover exactly the suppressed people S: published when S = 0 or S ≥ k.
- `events`, `users` cover everyone P; with the published rows they also give the suppressed totals by
  difference, so they are published under the same condition (S = 0 implies P ≥ k: every person is then in a
  published row of ≥ k people).
- `late_events` of a 'late' row covers the late people of that batch and window: published when they are ≥ k.
Withheld numbers are null and the row says `withheld = true`. The exact figures go to the worker's metrics and
log (operators), never to a shareable topic.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.columns import DATE_COLUMN, POLICY_VERSION_COLUMN
from pipeline.policy.model import KAnonSection

# The people-sensitive columns of a stats row: nulled together when they would isolate fewer than k people.
PEOPLE_COUNTS = ("events", "users", "suppressed_events", "suppressed_users")


def aggregate_schema(config: KAnonSection) -> pa.Schema:
    qis = list(config.cell_attributes)
    return pa.schema(
        [pa.field("window_start", pa.timestamp("ms", tz="UTC")), pa.field("window_end", pa.timestamp("ms", tz="UTC")),
         pa.field(config.partition_column, pa.string())]
        + [pa.field(q, pa.string()) for q in qis] + [pa.field(f"{q}_level", pa.int8()) for q in qis]
        + [pa.field("events", pa.int64()), pa.field("users", pa.int64()), pa.field("k", pa.int32()),
           pa.field(POLICY_VERSION_COLUMN, pa.string()), pa.field(DATE_COLUMN, pa.string())]
        # which release made the row; ± of the 95 % interval of noisy counts (null: exact k-anonymous counts)
        + [pa.field("release", pa.string()), pa.field("events_ci95", pa.int64()), pa.field("users_ci95", pa.int64())])


STATS_SCHEMA = pa.schema([
    pa.field("window_start", pa.timestamp("ms", tz="UTC")), pa.field("window_end", pa.timestamp("ms", tz="UTC")),
    pa.field("kind", pa.string()), pa.field("partition", pa.int32()), pa.field("events", pa.int64()),
    pa.field("users", pa.int64()), pa.field("published_cells", pa.int64()), pa.field("rolled_up_cells", pa.int64()),
    pa.field("suppressed_events", pa.int64()), pa.field("suppressed_users", pa.int64()),
    pa.field("late_events", pa.int64()), pa.field("k", pa.int32()), pa.field(POLICY_VERSION_COLUMN, pa.string()),
    pa.field(DATE_COLUMN, pa.string()), pa.field("withheld", pa.bool_())])


def _date(ms: int) -> str:
    # The worker never imports pandas for this: it would cost ~40 MB of RSS.
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def release_tables(window_ms: int, releases: list, config: KAnonSection, policy_version: str,
                   partition: int, late_events: int = 0) -> tuple[pa.Table, pa.Table]:
    """Aggregate rows and one EXACT stats row for a window; `withhold` makes the stats row shareable.

    `releases` are the WindowRelease of every partition value of one stage partition; people are counted over
    their union (a person in two event types is one person of the partition).
    """
    qis = list(config.cell_attributes)
    end_ms = window_ms + config.window.size_seconds * 1000
    rows = [r for release in releases for r in release.rows]
    columns = {"window_start": [window_ms] * len(rows), "window_end": [end_ms] * len(rows),
               config.partition_column: [r.cell[0] for r in rows]}
    for i, q in enumerate(qis):
        columns[q] = [r.cell[i + 1] for r in rows]
    for i, q in enumerate(qis):
        columns[f"{q}_level"] = [r.levels[i] for r in rows]
    columns.update(events=[r.events for r in rows], users=[r.subjects for r in rows], k=[config.k] * len(rows),
                   policy_version=[policy_version] * len(rows), event_date=[_date(window_ms)] * len(rows),
                   release=["k_anonymity"] * len(rows), events_ci95=[None] * len(rows), users_ci95=[None] * len(rows))
    aggregates = pa.table(columns, schema=aggregate_schema(config))
    people = set().union(*(r.people for r in releases)) if releases else set()
    suppressed = set().union(*(r.suppressed_people for r in releases)) if releases else set()
    stats = pa.table({
        "window_start": [window_ms], "window_end": [end_ms], "kind": ["window"], "partition": [partition],
        "events": [sum(r.events for r in releases)], "users": [len(people)],
        "published_cells": [len(rows)], "rolled_up_cells": [sum(r.rolled_up_cells for r in releases)],
        "suppressed_events": [sum(r.suppressed_events for r in releases)],
        "suppressed_users": [len(suppressed)], "late_events": [late_events],
        "k": [config.k], POLICY_VERSION_COLUMN: [policy_version], DATE_COLUMN: [_date(window_ms)],
        "withheld": [False]}, schema=STATS_SCHEMA)
    return aggregates, stats


def withhold(stats: pa.Table, k: int, late_people: list[int] | None = None) -> pa.Table:
    """The shareable copy of exact stats rows: counts that would cover 1..k-1 people become null, flagged.

    'window' rows: decided by `suppressed_users` (S). 'late' rows: by `late_people` (one entry per row).
    """
    suppressed = stats.column("suppressed_users").to_pylist()
    kinds = stats.column("kind").to_pylist()
    late_people = late_people or [0] * stats.num_rows
    hide_people = [kind == "window" and 0 < s < k for kind, s in zip(kinds, suppressed)]
    hide_late = [kind == "late" and n < k for kind, n in zip(kinds, late_people)]
    columns = {}
    for name in stats.column_names:
        column = stats.column(name)
        if name in PEOPLE_COUNTS:
            column = pc.if_else(pa.array(hide_people), pa.scalar(None, column.type), column)
        elif name == "late_events":
            column = pc.if_else(pa.array(hide_late), pa.scalar(None, column.type), column)
        elif name == "withheld":
            column = pa.array([a or b for a, b in zip(hide_people, hide_late)])
        columns[name] = column
    return pa.table(columns, schema=STATS_SCHEMA)


def late_table(late: dict[int, int], config: KAnonSection, policy_version: str, partition: int) -> pa.Table:
    """EXACT stats rows of kind 'late': events that arrived after their window was released (never dropped)."""
    size = config.window.size_seconds * 1000
    windows = sorted(late)
    zeros = [0] * len(windows)
    return pa.table({
        "window_start": windows, "window_end": [w + size for w in windows], "kind": ["late"] * len(windows),
        "partition": [partition] * len(windows), "events": zeros, "users": zeros, "published_cells": zeros,
        "rolled_up_cells": zeros, "suppressed_events": zeros, "suppressed_users": zeros,
        "late_events": [late[w] for w in windows], "k": [config.k] * len(windows),
        POLICY_VERSION_COLUMN: [policy_version] * len(windows), DATE_COLUMN: [_date(w) for w in windows],
        "withheld": [False] * len(windows)}, schema=STATS_SCHEMA)
