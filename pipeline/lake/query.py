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
        add_local_views(con, _policy())  # aggregates_local, window_stats_local: local days/hours, districts
        for statement in _LOCKDOWN:
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con, missing


def _policy():
    from pipeline.policy.loader import load_policy
    return load_policy(None).policy  # ANONPIPE_POLICY or the packaged policy: time zone and districts


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


def _cell(value) -> str:
    if value is None:
        return "null"  # SQL's word for "no value", never NaN or None
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def format_table(table: pa.Table, max_rows: int = 100) -> str:
    """Plain-text rendering for a terminal: aligned columns, nulls as `null`, a note when rows were cut."""
    if not table.num_columns:
        return "(no columns)"
    if table.num_rows == 0:
        return f"no rows (columns: {', '.join(table.column_names)})"
    shown = table.slice(0, max_rows).to_pylist()
    cells = [[_cell(row[name]) for name in table.column_names] for row in shown]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
               for f in table.schema]
    widths = [max([len(name)] + [len(r[i]) for r in cells]) for i, name in enumerate(table.column_names)]
    def line(values):  # noqa: E306 - numbers right-aligned, text left-aligned
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()
    text = "\n".join([line(table.column_names)] + [line(r) for r in cells])
    if table.num_rows > max_rows:
        text += f"\n… {table.num_rows - max_rows} more rows (use --format csv or --max-rows)"
    return text + f"\n({table.num_rows} row{'s' if table.num_rows != 1 else ''})"
