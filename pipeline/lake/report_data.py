"""What the dashboard shows, read with DuckDB from the shareable zones only (aggregates, window_stats, people).

The result is small and JSON-ready: a cube of published events per local day, hour, weekday and cell attribute
(the page filters and adds it up in the browser, so every chart is a sum over the same published rows), the
published daily and monthly people, and the suppression totals. The pseudonymized zone is never opened.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

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
                           f"WHERE local_date BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL", [first, last]).fetchall()
        info = con.execute("SELECT list(DISTINCT k ORDER BY k), list(DISTINCT policy_version ORDER BY policy_version) "
                           "FROM aggregates").fetchone()
        data = DashboardData(policy.timezone, [int(v) for v in info[0]], list(info[1]), first.isoformat(),
                             last.isoformat(), keys + ["events"], [list(r) for r in cube],
                             districts=policy.districts is not None,
                             city=policy.districts.city if policy.districts else None)
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
