"""What the dashboard shows, read with DuckDB from the shareable zones only (aggregates, window_stats, people).

The result is small and JSON-ready: a cube of published events per local day, hour, weekday and cell attribute
(the page filters and adds it up in the browser, so every chart is a sum over the same published rows), the
published daily and monthly people, and the suppression totals. The pseudonymized zone is never opened.
Differentially private rows (`release` 'dp' / 'both') are noisy: they are listed apart with their 95 % intervals
and the budget ledger (lake/dp_ledger, pipeline/dp/ledger.py), and enter the charts only when the lake holds no
k-anonymous rows (exact and noisy counts are never added up together).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.dp.ledger import budget_summary, ledger_dir
from pipeline.lake.layout import AGGREGATES, PEOPLE, WINDOW_STATS, zone_dir
from pipeline.lake.local_views import add_local_views
from pipeline.policy.model import Policy

# Only these zones are ever read: none holds pseudonyms or event-level rows.
REPORT_ZONES = {"aggregates": AGGREGATES, "window_stats": WINDOW_STATS, "people": PEOPLE}
# Cell attributes the dashboard breaks events down by (those the policy's cells do not carry are left out).
CUBE_ATTRIBUTES = ("event_type", "service", "screen", "status", "district", "os_family", "device_class")


class ReportError(ValueError):
    """The report cannot be built (e.g. no anonymous data yet)."""


@dataclass
class DashboardData:
    timezone: str
    k: list[int]
    policy_versions: list[str]
    first_day: str
    last_day: str
    cube_columns: list[str]
    cube: list[list]
    people: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)  # per local day: events, suppressed, late (window_stats)
    districts: bool = False
    city: str | None = None
    # DP releases: what the charts show ('k_anonymity', 'dp' when the lake holds only noisy rows, 'mixed' when
    # the charts leave the noisy rows out), per local day and partition value the noisy sums with their ±
    # (95 %), and the budget ledger per period (pipeline.dp.ledger.budget_summary).
    charts_release: str = "k_anonymity"
    dp_column: str | None = None
    dp_rows: list[dict] = field(default_factory=list)
    dp_budget: list[dict] = field(default_factory=list)


def connect(data_dir: str | os.PathLike) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """In-memory DuckDB with a view per shareable zone that has files; returns it and the views made."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    present = set()
    for view, zone in REPORT_ZONES.items():
        root = zone_dir(data_dir, zone)
        if root.is_dir() and any(p for p in root.glob("*/*.parquet") if not p.name.startswith((".", "_"))):
            pattern = str(root / "*" / "*.parquet").replace("'", "''")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{pattern}', "
                        "hive_partitioning = true, union_by_name = true)")
            present.add(view)
    return con, present


def _rows(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def collect(data_dir: str | os.PathLike, policy: Policy, days: int | None = None) -> DashboardData:
    """Read the zones; `days` keeps only the last N local days (the page stays small over a long lake)."""
    if not Path(data_dir).is_dir():
        raise ReportError(f"data dir {data_dir} does not exist")
    con, present = connect(data_dir)
    try:
        if "aggregates" not in present:
            raise ReportError(f"no aggregates under {Path(data_dir) / 'lake'} yet: the report shows published "
                              "statistics only (run the pipeline until windows are released)")
        add_local_views(con, policy)
        all_columns = {n for (n,) in con.execute("SELECT column_name FROM (DESCRIBE aggregates)").fetchall()}
        dp_test = "release IN ('dp', 'both')" if "release" in all_columns else "false"
        kinds = con.execute(f"SELECT count(*) FILTER ({dp_test}), count(*) FILTER (NOT coalesce({dp_test}, false)) "
                            "FROM aggregates").fetchone()
        charts_release = "k_anonymity" if not kinds[0] else ("dp" if not kinds[1] else "mixed")
        # exact and noisy counts are never summed together: with both in the lake the charts keep the exact ones
        chart_rows = f"NOT coalesce({dp_test}, false)" if charts_release == "mixed" else "true"
        span = con.execute("SELECT min(local_date), max(local_date) FROM aggregates_local").fetchone()
        first, last = span
        if days:
            first = max(first, last - dt.timedelta(days=days - 1))
        columns = {name for (name,) in con.execute("SELECT column_name FROM (DESCRIBE aggregates_local)").fetchall()}
        attributes = [a for a in CUBE_ATTRIBUTES if a in columns]
        if policy.districts is None and "district" in attributes:
            attributes.remove("district")
        keys = ["local_date", "local_hour", "local_weekday"] + attributes
        select = ", ".join(f"coalesce(CAST({c} AS VARCHAR), 'unknown') AS {c}" if c in attributes else
                           (f"strftime({c}, '%Y-%m-%d') AS {c}" if c == "local_date" else c) for c in keys)
        cube = con.execute(f"SELECT {select}, sum(events) AS events FROM aggregates_local "
                           f"WHERE local_date BETWEEN ? AND ? AND {chart_rows} GROUP BY ALL ORDER BY ALL",
                           [first, last]).fetchall()
        info = con.execute("SELECT list(DISTINCT k ORDER BY k), list(DISTINCT policy_version ORDER BY policy_version) "
                           "FROM aggregates").fetchone()
        data = DashboardData(policy.timezone, [int(v) for v in info[0]], list(info[1]), first.isoformat(),
                             last.isoformat(), keys + ["events"], [list(r) for r in cube],
                             districts=policy.districts is not None,
                             city=policy.districts.city if policy.districts else None,
                             charts_release=charts_release)
        if kinds[0]:
            data.dp_column = policy.kanon.partition_column
            data.dp_rows = _dp_rows(con, dp_test, data.dp_column, first, last)
        if ledger_dir(data_dir).is_dir():
            data.dp_budget = budget_summary(data_dir)
        if "people" in present:
            scope = [a for a in ("event_type", "service", "district") if a in
                     {n for (n,) in con.execute("SELECT column_name FROM (DESCRIBE people)").fetchall()}]
            data.people = _rows(con, f"SELECT period, period_start, {', '.join(scope)}, people FROM people "
                                     "WHERE period = 'day' AND CAST(period_start AS DATE) BETWEEN ? AND ? "
                                     "ORDER BY ALL", [first, last])
        if "window_stats" in present:
            data.days = _rows(con, "SELECT strftime(local_date, '%Y-%m-%d') AS day, "
                                   "sum(events) FILTER (kind = 'window') AS events, "
                                   "sum(suppressed_events) FILTER (kind = 'window') AS suppressed, "
                                   "sum(late_events) AS late FROM window_stats_local "
                                   "WHERE local_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1", [first, last])
        return data
    finally:
        con.close()


def _dp_rows(con, dp_test: str, column: str, first, last) -> list[dict]:
    """Noisy events and people per local day and partition value, each with the ± of its 95 % interval.

    A sum of independently noised cells has the variance of the cells' noise added up; its ± is taken as the
    root of the sum of the squared per-cell ± (exact for one cell; for many cells the sum is close to normal,
    and a discrete Laplace's 95 % point is about 2.1 standard deviations, so this covers slightly more than 95 %).
    """
    return _rows(con, f"SELECT strftime(local_date, '%Y-%m-%d') AS day, coalesce(CAST({column} AS VARCHAR), "
                      "'unknown') AS value, sum(events) AS events, "
                      "CAST(ceil(sqrt(sum(events_ci95::DOUBLE * events_ci95))) AS BIGINT) AS events_ci95, "
                      "sum(users) AS users, CAST(ceil(sqrt(sum(users_ci95::DOUBLE * users_ci95))) AS BIGINT) "
                      f"AS users_ci95, count(*) AS cells FROM aggregates_local WHERE {dp_test} "
                      "AND local_date BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL", [first, last])
