"""Analyst SQL over the lake: an in-memory DuckDB with one view per zone."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS, zone_dir

# View name → zone. The DLQ (raw rejects) is deliberately not exposed.
VIEWS = {"events": PSEUDONYMIZED, "aggregates": AGGREGATES, "window_stats": WINDOW_STATS}


class QueryError(ValueError):
    """The query could not run; the message is one line meant for the analyst."""


def _has_parquet(root: Path) -> bool:
    return root.is_dir() and any(not p.name.startswith((".", "_")) for p in root.glob("*/*.parquet"))


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(data_dir: str | os.PathLike) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """Connection with a view per zone that has files; returns it and the names of views left out (no files)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # timestamps are stored in UTC; show them so
    missing = []
    for view, zone in VIEWS.items():
        root = zone_dir(data_dir, zone)
        if not _has_parquet(root):
            missing.append(view)
            continue
        pattern = _sql_string(str(root / "**" / "*.parquet"))
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({pattern}, "
                    "hive_partitioning = true, union_by_name = true)")
    return con, missing


def run_query(data_dir: str | os.PathLike, sql: str) -> pa.Table:
    """Run `sql` against the lake views and return the result as an Arrow table."""
    if not sql.strip():
        raise QueryError("the query is empty")
    con, missing = connect(data_dir)
    try:
        relation = con.sql(sql)
        if relation is None:
            raise QueryError("the statement returned no rows; give a SELECT (or WITH … SELECT) query")
        return relation.to_arrow_table()
    except duckdb.CatalogException as exc:
        absent = [v for v in missing if re.search(rf"\bname {v} does not exist", str(exc))]
        if absent:
            raise QueryError(f"view {absent[0]!r} has no data yet: no Parquet files under "
                             f"{zone_dir(data_dir, VIEWS[absent[0]])}") from None
        raise QueryError(_first_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def format_table(table: pa.Table, max_rows: int = 100) -> str:
    """Plain-text rendering for a terminal, with a note when rows were cut."""
    frame = table.slice(0, max_rows).to_pandas()
    text = frame.to_string(index=False, max_colwidth=60) if len(frame.columns) else "(no columns)"
    if table.num_rows > max_rows:
        text += f"\n… {table.num_rows - max_rows} more rows (use --format csv or --max-rows)"
    return text + f"\n({table.num_rows} rows)"
