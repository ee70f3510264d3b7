"""Local-time and district views over the shareable zones, for `anonpipe query` and the report.

Given a DuckDB connection that already has the views `aggregates` and `window_stats` (stored in UTC), adds
`aggregates_local` and `window_stats_local`: every column, plus `local_date`, `local_hour` (0–23), `local_weekday`
(ISO: 1 = Monday … 7 = Sunday) in the policy's time zone, and for aggregates `district` (the district of the
published H3 cell or the district it was rolled up to, "<city>: several districts" for a coarse cell that spans
districts, the city's name for a roll-up to the city, `*` when the location was generalized away, `unknown` when
the event had none; null when the policy names no districts). Hourly windows
start on the UTC hour; every zone Kazakhstan has used is a whole number of hours from UTC, so a window is one
local hour. docs/columns.md is the column dictionary.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import duckdb

from pipeline.policy.model import Policy

GENERALIZED = "*"
UNKNOWN = "unknown"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def policy_districts(policy: Policy):
    """The policy's DistrictMap, or None (imported only then: `anonpipe query` stays quick to start)."""
    section = policy.districts
    if section is None:
        return None
    from pipeline.common.districts import load_districts
    return load_districts(section.geojson, section.name_property, section.city)


def _local(column: str, zone: str) -> str:
    local = f"timezone({_quote(zone)}, {column})"
    return (f"CAST({local} AS DATE) AS local_date, CAST(hour({local}) AS INTEGER) AS local_hour, "
            f"CAST(isodow({local}) AS INTEGER) AS local_weekday")


def _views(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def add_local_views(con: duckdb.DuckDBPyConnection, policy: Policy, districts=None) -> list[str]:
    """Create the local views for the zones present; returns their names. `districts` defaults to the policy's."""
    ZoneInfo(policy.timezone)  # validated when the policy loaded; fails loudly here if not
    present = _views(con)
    created = []
    if "aggregates" in present:
        districts = districts if districts is not None else policy_districts(policy)
        cells = [c for (c,) in con.execute("SELECT DISTINCT geo_h3 FROM aggregates WHERE geo_h3 IS NOT NULL").fetchall()]
        labels = []
        for cell in cells:
            if cell in (GENERALIZED, UNKNOWN) or districts is None:
                labels.append(cell if cell in (GENERALIZED, UNKNOWN) else None)
            else:
                labels.append(districts.district_of(cell) or cell)  # a city-level roll-up keeps its label
        # Lists as parameters, not a registered Arrow table: DuckDB imports pandas (~0.5 s) to register a
        # Python object, and `anonpipe query` must start fast.
        con.execute("CREATE OR REPLACE TEMP TABLE h3_districts AS "
                    "SELECT unnest($1::VARCHAR[]) AS geo_h3, unnest($2::VARCHAR[]) AS district", [cells, labels])
        con.execute(f"CREATE OR REPLACE TEMP VIEW aggregates_local AS SELECT a.*, {_local('a.window_start', policy.timezone)}, "
                    "d.district FROM aggregates a LEFT JOIN h3_districts d ON a.geo_h3 = d.geo_h3")
        created.append("aggregates_local")
    if "window_stats" in present:
        con.execute(f"CREATE OR REPLACE TEMP VIEW window_stats_local AS SELECT *, "
                    f"{_local('window_start', policy.timezone)} FROM window_stats")
        created.append("window_stats_local")
    return created
