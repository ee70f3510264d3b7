"""`anonpipe release-people`: daily and monthly distinct people from the restricted zone into the `people` zone.

A batch step that sees a whole local day (or month) of pseudonymized rows together, links their identifiers into
people (pipeline/linkage.py), and publishes distinct people per scope under the rule of pipeline/kanon/periods.py,
checked against the hourly aggregates, window statistics and people rows already published. It runs only for a
period whose every (hour, stage partition) holding events has a released window-statistics row: a released window
is final, so no hourly row of the period can appear afterwards unchecked. The stage partition of an event type is
crc32(type) mod the partition count of telemetry.pseudonymized, which the caller passes (the worker's setting).
A period is released once: a second run skips it rather than publish a second version.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from pipeline.common.columns import POLICY_VERSION_COLUMN
from pipeline.kanon.hierarchy import UNKNOWN
from pipeline.kanon.periods import ANY, DEFAULT_GROUPINGS, PeopleRow, hourly_scope, release_period, scope_people
from pipeline.lake.local_views import policy_districts
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, WINDOW_STATS, zone_dir
from pipeline.lake.writer import write_partition_file
from pipeline.policy.loader import CompiledPolicy

PERIODS = ("day", "month")


class PeopleReleaseError(ValueError):
    """The release cannot run (message meant for the operator)."""


@dataclass
class PeriodResult:
    period: str
    local_start: dt.date
    published: int
    withheld: int
    skipped: str | None = None


def period_bounds(period: str, local_start: dt.date, zone: ZoneInfo) -> tuple[int, int]:
    """[start, end) of a local day or month, in UTC epoch milliseconds."""
    if period == "day":
        local_end = local_start + dt.timedelta(days=1)
    else:
        local_end = (local_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    as_ms = lambda d: int(dt.datetime.combine(d, dt.time(), zone).timestamp() * 1000)  # noqa: E731
    return as_ms(local_start), as_ms(local_end)


def _glob(data_dir, zone: str) -> str | None:
    root = zone_dir(data_dir, zone)
    if not root.is_dir() or not any(p for p in root.glob("*/*.parquet") if not p.name.startswith((".", "_"))):
        return None
    return "'" + str(root / "*" / "*.parquet").replace("'", "''") + "'"


def _read(con, data_dir, zone: str, where: str, columns: str = "*", tail: str = "", keep: str = "*") -> pa.Table | None:
    """Query a zone; each zone is scanned once per run into a temporary table (a run asks it many questions)."""
    table = f"zone_{zone}"
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]:
        pattern = _glob(data_dir, zone)
        if pattern is None:
            return None
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {keep} FROM read_parquet({pattern}, "
                    "hive_partitioning = true, union_by_name = true)")
    return con.sql(f"SELECT {columns} FROM {table} WHERE {where} {tail}").to_arrow_table()


def _ts(ms: int) -> str:
    return f"epoch_ms({int(ms)})"


class PeopleRelease:
    """One run over a data dir with one policy (reads the zones once per period)."""

    def __init__(self, data_dir: str | os.PathLike, policy: CompiledPolicy, stage_partitions: int = 4):
        self.data_dir = Path(data_dir)
        self.policy = policy
        self.config = policy.policy.kanon
        self.zone = ZoneInfo(policy.policy.timezone)
        self.districts = policy_districts(policy.policy)
        self.stage_partitions = stage_partitions
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.time_column = next((op.output for op in policy.operators if op.name == "time_bucket"), None)
        if self.time_column is None:
            raise PeopleReleaseError("the policy has no time_bucket operator on occurred_at: no event times")
        attributes = {self.config.partition_column, *self.config.cell_attributes}
        if self.districts is not None and "geo_h3" in self.config.cell_attributes:
            attributes.add("district")
        self.groupings = tuple(g for g in DEFAULT_GROUPINGS if set(g) <= attributes)
        self.attributes = [a for a in ("event_type", "service", "district") if any(a in g for g in self.groupings)]
        sources = {"district": "geo_h3"}
        self.keep = ", ".join(dict.fromkeys([self.time_column, *self.config.subject_columns,
                                             self.config.partition_column,
                                             *(sources.get(a, a) for a in self.attributes)]))

    def _zone(self, zone: str, where: str, columns: str = "*", tail: str = "") -> pa.Table | None:
        # Of the restricted zone only what counting people needs is read: no other part of an event.
        keep = self.keep if zone == PSEUDONYMIZED else "*"
        return _read(self.con, self.data_dir, zone, where, columns, tail, keep)

    def pending(self, period: str) -> list[dt.date]:
        """Local periods with pseudonymized rows, all released hourly, not yet in the people zone."""
        rows = self._zone(PSEUDONYMIZED, "true",
                     f"min({self.time_column}) AS first, max({self.time_column}) AS last")
        if rows is None or rows.column("first")[0].as_py() is None:
            return []
        first = rows.column("first")[0].as_py().astimezone(self.zone).date()
        last = rows.column("last")[0].as_py().astimezone(self.zone).date()
        starts = []
        day = first if period == "day" else first.replace(day=1)
        while day <= last:
            starts.append(day)
            day = day + dt.timedelta(days=1) if period == "day" else (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return starts

    def unreleased_hours(self, start: int, end: int) -> int:
        """(Hour, stage partition) pairs of [start, end) that hold events but have no released window yet."""
        size = self.config.window.size_seconds * 1000
        held = self._zone(PSEUDONYMIZED,
                     f"{self.time_column} >= {_ts(start)} AND {self.time_column} < {_ts(end)}",
                     f"DISTINCT epoch_ms({self.time_column}) // {size} * {size} AS window, "
                     f"{self.config.partition_column} AS value")
        if held is None:
            return 0
        needed = {(w, zlib.crc32((v or "").encode("utf-8")) % self.stage_partitions)
                  for w, v in zip(held.column("window").to_pylist(), held.column("value").to_pylist())}
        stats = self._zone(WINDOW_STATS,
                      f"kind = 'window' AND window_start >= {_ts(start)} AND window_start < {_ts(end)}",
                      "DISTINCT epoch_ms(window_start) AS window, partition")
        released = set(zip(stats.column("window").to_pylist(), stats.column("partition").to_pylist())) if stats else set()
        return len(needed - released)

    def release(self, period: str, local_start: dt.date) -> PeriodResult:
        if period not in PERIODS:
            raise PeopleReleaseError(f"period must be one of {', '.join(PERIODS)}")
        start, end = period_bounds(period, local_start, self.zone)
        newest = self._zone(WINDOW_STATS, "kind = 'window'", "max(epoch_ms(window_end)) AS t")
        if newest is None or (newest.column("t")[0].as_py() or 0) < end:
            return PeriodResult(period, local_start, 0, 0, skipped="not over yet (no window released past its end)")
        missing = self.unreleased_hours(start, end)
        if missing:
            return PeriodResult(period, local_start, 0, 0, skipped=f"{missing} hour(s) of it not released yet")
        existing = self._zone(PEOPLE, f"period = '{period}' AND period_start = '{local_start}'",
                         "count(*) AS n")
        if existing is not None and existing.column("n")[0].as_py():
            return PeriodResult(period, local_start, 0, 0, skipped="already released (a release is final)")
        rows = self._zone(PSEUDONYMIZED,
                     f"{self.time_column} >= {_ts(start)} AND {self.time_column} < {_ts(end)}")
        if rows is None or rows.num_rows == 0:
            return PeriodResult(period, local_start, 0, 0, skipped="no events in it")
        people = scope_people(rows, list(self.config.subject_columns), self.groupings, self._labels())
        types = {v for v in rows.column(self.config.partition_column).to_pylist()}
        published, withheld = release_period(start, end, people, self.config.k, self._published(start, end, types))
        if published:
            self._write(period, local_start, start, end, published)
            self.con.execute(f"DROP TABLE IF EXISTS zone_{PEOPLE}")  # read again: the next period checks against it
        return PeriodResult(period, local_start, len(published), withheld)

    def _labels(self) -> dict:
        def column(name):
            return lambda t: [UNKNOWN if v is None else str(v) for v in t.column(name).to_pylist()]

        labels = {a: column(a) for a in ("event_type", "service") if a in self.attributes}
        if "district" in self.attributes:
            districts = self.districts
            labels["district"] = lambda t: [UNKNOWN if v is None else (districts.district_of(v) or UNKNOWN)
                                            for v in t.column("geo_h3").to_pylist()]
        return labels

    def _published(self, start: int, end: int, types: set) -> list[PeopleRow]:
        """Every published people count whose period overlaps [start, end); `types`: partition values seen in it."""
        overlap = f"window_start < {_ts(end)} AND window_end > {_ts(start)}"
        out: list[PeopleRow] = []
        district_of = self.districts.district_of if self.districts else None
        aggregates = self._zone(AGGREGATES, overlap)
        for row in (aggregates.to_pylist() if aggregates is not None else []):
            out.append(PeopleRow(_ms(row["window_start"]), _ms(row["window_end"]),
                                 hourly_scope(row, self.attributes, district_of), int(row["users"])))
        stats = self._zone(WINDOW_STATS, f"kind = 'window' AND users IS NOT NULL AND {overlap}")
        for row in (stats.to_pylist() if stats is not None else []):
            # A stats row covers the event types of one stage partition: possibly inside the scope of any of them.
            mine = frozenset(UNKNOWN if t is None else t for t in types
                             if zlib.crc32((t or "").encode("utf-8")) % self.stage_partitions == row["partition"])
            out.append(PeopleRow(_ms(row["window_start"]), _ms(row["window_end"]), (), int(row["users"]),
                                 loose=frozenset({"event_type"}), loose_values=(("event_type", mine),)))
        people = self._zone(PEOPLE,
                       f"period_end > {_ts(start)} AND period_begin < {_ts(end)}")
        for row in (people.to_pylist() if people is not None else []):
            scope = tuple((a, row[a]) for a in self.attributes if row.get(a) not in (None, ANY))
            out.append(PeopleRow(_ms(row["period_begin"]), _ms(row["period_end"]), scope, int(row["people"])))
        return out

    def _write(self, period: str, local_start: dt.date, start: int, end: int, rows: list[PeopleRow]) -> None:
        columns = {"period": [period] * len(rows), "period_start": [local_start.isoformat()] * len(rows),
                   "period_begin": [start] * len(rows), "period_end": [end] * len(rows)}
        for attribute in self.attributes:
            columns[attribute] = [r.value(attribute) or ANY for r in rows]
        columns.update(people=[r.people for r in rows], k=[self.config.k] * len(rows),
                       timezone=[self.policy.policy.timezone] * len(rows),
                       policy_version=[self.policy.version] * len(rows))
        schema = pa.schema([("period", pa.string()), ("period_start", pa.string()),
                            ("period_begin", pa.timestamp("ms", tz="UTC")), ("period_end", pa.timestamp("ms", tz="UTC"))]
                           + [(a, pa.string()) for a in self.attributes]
                           + [("people", pa.int64()), ("k", pa.int32()), ("timezone", pa.string()),
                              (POLICY_VERSION_COLUMN, pa.string())])
        write_partition_file(self.data_dir, PEOPLE, local_start.isoformat(), f"people-{period}-{local_start}.parquet",
                             pa.table(columns, schema=schema))


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def release_people(data_dir: str | os.PathLike, policy: CompiledPolicy, periods: tuple[str, ...] = PERIODS,
                   starts: list[dt.date] | None = None, stage_partitions: int = 4) -> list[PeriodResult]:
    """Release the given (or every pending) local day and month; days first, so months are checked against them."""
    run = PeopleRelease(data_dir, policy, stage_partitions)
    results = []
    for period in periods:
        for start in (starts if starts is not None else run.pending(period)):
            results.append(run.release(period, start))
    return results
