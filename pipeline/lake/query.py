"""Analyst SQL over the lake: a locked-down in-memory DuckDB with one view per zone the caller may read.

The shareable zones (aggregates, window_stats) are queried by default; the pseudonymized zone (`events`) only
when the restricted zone is asked for, and every such query is audited. The DLQ is never exposed. After the
views are registered DuckDB is cut off from everything else: external access off (no other files, no COPY, no
ATTACH, no extensions, no HTTP), only the listed Parquet files readable, configuration locked so SQL cannot
undo it, and only read-only statements accepted.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.lake.audit import ACCESS_LOG, append_audit
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, RESTRICTED, SHAREABLE, WINDOW_STATS, zone_dir
from pipeline.lake.local_views import add_local_views
from pipeline.policy.source import load_policy_settings

# View name → zone. The DLQ (raw rejects) is deliberately not exposed, whatever the audience.
SHAREABLE_VIEWS = {"aggregates": AGGREGATES, "window_stats": WINDOW_STATS, "people": PEOPLE}
RESTRICTED_VIEWS = {"events": PSEUDONYMIZED, **SHAREABLE_VIEWS}
VIEWS_BY_AUDIENCE = {SHAREABLE: SHAREABLE_VIEWS, RESTRICTED: RESTRICTED_VIEWS}
VIEWS = RESTRICTED_VIEWS
# Statement types an analyst may run: reading only (DESCRIBE and SHOW parse as SELECT).
_READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
# Applied in this order; lock_configuration last, so no later SET (from SQL) can change any of them.
_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET allow_persistent_secrets = false",
    "SET python_enable_replacements = false",   # no scanning of Python variables by name
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


class QueryError(ValueError):
    """The query could not run; the message is one line meant for the analyst."""


def _zone_files(root: Path) -> list[Path]:
    """The zone's Parquet files (no temp/hidden files, no symbolic links that could point elsewhere)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.parquet")
                  if not p.name.startswith((".", "_")) and not p.is_symlink() and not p.parent.is_symlink())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(data_dir: str | os.PathLike, zone: str = SHAREABLE) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """Locked connection with a view per readable zone that has files; returns it and the views left out."""
    if zone not in VIEWS_BY_AUDIENCE:
        raise QueryError(f"unknown zone {zone!r}; choose {SHAREABLE} or {RESTRICTED}")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")  # timestamps are stored in UTC; show them so
        missing, allowed = [], []
        for view, lake_zone in VIEWS_BY_AUDIENCE[zone].items():
            files = [str(p.resolve()) for p in _zone_files(zone_dir(data_dir, lake_zone))]
            if not files:
                missing.append(view)
                continue
            allowed += files
            listed = "[" + ", ".join(_sql_string(f) for f in files) + "]"
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({listed}, "
                        "hive_partitioning = true, union_by_name = true)")
        # Exactly these files stay readable once external access is off: not their folders (no new files,
        # no COPY into them), not the DLQ, not the other zones.
        con.execute("SET allowed_paths = [" + ", ".join(_sql_string(f) for f in allowed) + "]")
        # aggregates_local, window_stats_local: local days, hours, weekdays and districts (docs/columns.md)
        add_local_views(con, load_policy_settings(None))  # the time zone and districts: no operator is built
        for statement in _LOCKDOWN:
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con, missing


def _read_only_statement(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one statement (got {len(statements)})")
    statement = statements[0]
    if statement.type not in _READ_ONLY:
        raise QueryError(f"only SELECT queries are allowed (got {statement.type.name})")
    return statement.query


def run_query(data_dir: str | os.PathLike, sql: str, zone: str = SHAREABLE) -> pa.Table:
    """Run one read-only `sql` statement against the views of `zone`'s audience; returns an Arrow table.

    A restricted-zone query is recorded in <data>/audit/access.log before it runs; if the record cannot be
    written, the query does not run.
    """
    if not sql.strip():
        raise QueryError("the query is empty")
    con, missing = connect(data_dir, zone)
    try:
        statement = _read_only_statement(con, sql)
        if zone == RESTRICTED:
            append_audit(data_dir, ACCESS_LOG, {
                "action": "query", "zone": PSEUDONYMIZED, "sql": statement.strip(),
                "sql_sha256": hashlib.sha256(statement.encode()).hexdigest()})
        relation = con.sql(statement)
        if relation is None:
            raise QueryError("the statement returned no rows; give a SELECT (or WITH … SELECT) query")
        return relation.to_arrow_table()
    except duckdb.CatalogException as exc:
        views = VIEWS_BY_AUDIENCE[zone]
        absent = [v for v in missing if re.search(rf"\bname {v} does not exist", str(exc))]
        if absent:
            raise QueryError(f"view {absent[0]!r} has no data yet: no Parquet files under "
                             f"{zone_dir(data_dir, views[absent[0]])}") from None
        hidden = [v for v in RESTRICTED_VIEWS if v not in views and re.search(rf"\bname {v} does not exist", str(exc))]
        if hidden:
            raise QueryError(f"view {hidden[0]!r} is in the restricted zone: pass --zone restricted "
                             "(needs read access to it; the query is audited)") from None
        raise QueryError(_first_line(exc)) from None
    except duckdb.PermissionException as exc:
        raise QueryError("only the lake views can be read; files, COPY, ATTACH and extensions are disabled "
                         f"({_first_line(exc)})") from None
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def format_table(table: pa.Table, max_rows: int = 100, max_width: int = 60) -> str:
    """Plain-text rendering for a terminal (right-aligned columns, NULL for nulls), with a note when rows were cut.

    Built from Arrow values directly: pandas would add ~1 s to every `anonpipe query`.
    """
    if not table.num_columns:
        text = "(no columns)"
    else:
        shown = table.slice(0, max_rows)
        columns = [[name, *(_cell(v, max_width) for v in column.to_pylist())]
                   for name, column in zip(shown.column_names, shown.columns)]
        widths = [max(map(len, column)) for column in columns]
        text = "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in zip(*columns))
    if table.num_rows > max_rows:
        text += f"\n… {table.num_rows - max_rows} more rows (use --format csv or --max-rows)"
    return text + f"\n({table.num_rows} rows)"


def _cell(value, max_width: int) -> str:
    text = "NULL" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= max_width else text[:max_width - 1] + "…"
