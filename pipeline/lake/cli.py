"""Click commands for the lake (`lake compact`, `lake retention`, `query`, `report`, `forget`); see LAKE_COMMANDS."""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import sys
import threading
from pathlib import Path

import click

from pipeline.lake.layout import DEFAULT_MAX_COMPONENT, RESTRICTED, SHAREABLE, ZONES
from pipeline.options import (FILE, data_dir_option, keyring_option, loaded_classes, metrics_port_option, option,
                              policy_option)

# Each command imports what it runs (pyarrow, DuckDB, matplotlib, pandas) inside its body: `anonpipe --help` and
# `anonpipe query` must not pay for the rest.

# Errors whose messages are written for the operator (and never carry personal data or key material).
_EXPECTED_ERRORS = (("pipeline.lake.compaction", "CompactionError"), ("pipeline.lake.retention", "RetentionError"),
                    ("pipeline.lake.erasure", "ErasureError"), ("pipeline.lake.person", "PersonError"),
                    ("pipeline.keys.ring", "KeyRingError"), ("pipeline.lake.query", "QueryError"),
                    ("pipeline.lake.report", "ReportError"), ("pipeline.lake.report_data", "ReportError"),
                    ("pipeline.lake.people_release", "PeopleReleaseError"),
                    ("pipeline.hierarchies.base", "HierarchyError"))
_ARROW_ERRORS = (("pyarrow.lib", "ArrowException"),)


def _one_line_errors(command):
    """Turn expected failures into a single `Error: …` line instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, loaded_classes(_EXPECTED_ERRORS)):
                raise click.ClickException(str(exc)) from None
            if isinstance(exc, loaded_classes(_ARROW_ERRORS)):
                raise click.ClickException(f"could not read or write Parquet: {str(exc).splitlines()[0]}") from None
            if isinstance(exc, OSError):
                raise click.ClickException(f"{exc.strerror or type(exc).__name__}: {exc.filename}") from None
            raise

    return wrapper


def _existing(data_dir: Path) -> Path:
    if not data_dir.is_dir():
        raise click.ClickException(f"data dir {data_dir} does not exist (set --data-dir or ANONPIPE_DATA_DIR)")
    return data_dir


def _parse_date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-01-31") from None


# ---- lake compact / retention -----------------------------------------------------------------------------
@click.group("lake")
def lake_group():
    """Maintain the Parquet lake: compaction and retention."""


@lake_group.command("compact")
@data_dir_option()
@click.option("--zone", "zones", multiple=True, type=click.Choice(ZONES), help="zone(s) to compact (default: all)")
@click.option("--date", "dates", multiple=True, callback=lambda c, p, v: [_parse_date(c, p, d).isoformat() for d in v],
              help="only these date partitions, YYYY-MM-DD (repeatable)")
@click.option("--min-files", default=2, show_default=True, type=click.IntRange(min=2),
              help="compact a partition only when it has at least this many files")
@click.option("--dry-run", is_flag=True, help="show what would be merged, change nothing")
@_one_line_errors
def compact_command(data_dir, zones, dates, min_files, dry_run):
    """Merge each date partition's small batch files into one compact file."""
    from pipeline.lake.compaction import compact_zone

    data_dir = _existing(data_dir)
    merged = 0
    for zone in zones or ZONES:
        for r in compact_zone(data_dir, zone, min_files=min_files, dry_run=dry_run, dates=set(dates) or None):
            if r.skipped:
                continue
            merged += 1
            verb = "would merge" if dry_run else "merged"
            detail = f"{r.rows_in:,} rows in" if dry_run else (
                f"{r.rows_out:,} rows, {r.duplicate_rows_dropped:,} duplicate rows dropped")
            click.echo(f"{zone}/{r.partition}: {verb} {r.source_files} files → {r.output} ({detail})")
    if not merged:
        click.echo("nothing to compact")


@lake_group.command("retention")
@data_dir_option()
@policy_option()
@click.option("--today", callback=_parse_date, help="reference date YYYY-MM-DD (default: today, UTC)")
@click.option("--dry-run", is_flag=True, help="list what would be removed, delete nothing")
@_one_line_errors
def retention_command(data_dir, policy_path, today, dry_run):
    """Delete date partitions older than each zone's retention."""
    from pipeline.lake.retention import apply_retention, load_retention

    data_dir = _existing(data_dir)
    days = load_retention(policy_path)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    expired = apply_retention(data_dir, days, today, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for part in expired:
        click.echo(f"{verb} {part.zone}/{part.path.name} ({part.files} files, {part.bytes:,} bytes; "
                   f"keep {days[part.zone]} days)")
    click.echo(f"{verb} {len(expired)} partition(s) as of {today.isoformat()}")


@lake_group.command("maintain")
@data_dir_option()
@policy_option()
@option("--interval", envvar="ANONPIPE_MAINTAIN_INTERVAL", default=3600.0, show_default=True,
        type=click.FloatRange(min=0.1), help="seconds between cycles")
@click.option("--once", is_flag=True, help="run one cycle and exit (for a Kubernetes CronJob or cron)")
@click.option("--no-compact", is_flag=True, help="skip compaction (retention and permissions still run)")
@metrics_port_option()
@_one_line_errors
def maintain_command(data_dir, policy_path, interval, once, no_compact, metrics_port):
    """Apply retention, compaction and zone permissions now and then every --interval seconds (a service)."""
    from pipeline.lake.maintain import run_cycle, run_forever
    from pipeline.lake.retention import load_retention
    if once:
        days = load_retention(policy_path)
        report = run_cycle(_existing(data_dir), days, compact=not no_compact)
        click.echo(f"removed {sum(report.removed.values())} partition(s), compacted {report.compacted}, "
                   f"fixed {report.permissions_fixed} permission(s), expired {report.blocklist_expired} "
                   "blocklist entries")
        if report.failed:
            raise click.ClickException(f"maintenance steps failed: {', '.join(report.failed)} (see the log)")
        return
    load_retention(policy_path)  # a broken policy fails at start, not silently in the loop
    from pipeline.observability.logging import configure_logging
    from pipeline.observability.metrics import start_metrics_server
    configure_logging(os.environ.get("ANONPIPE_LOG_FORMAT", "text"), os.environ.get("ANONPIPE_LOG_LEVEL", "INFO"))
    start_metrics_server(metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_forever(data_dir, policy_path, interval, stop, compact=not no_compact)
    except KeyboardInterrupt:
        pass


# ---- query ------------------------------------------------------------------------------------------------
@click.command("query")
@click.argument("sql")
@data_dir_option()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "parquet"]), default="table", show_default=True,
              help="table: aligned text for a terminal; csv; parquet (needs --out).")
@click.option("--out", type=FILE, metavar="FILE", help="write the result here (required for parquet)")
@click.option("--max-rows", default=100, show_default=True, type=click.IntRange(min=1),
              help="rows shown by --format table")
@click.option("--zone", type=click.Choice([SHAREABLE, RESTRICTED]), default=SHAREABLE, show_default=True,
              help="shareable: views aggregates, window_stats; restricted: also `events` (pseudonymized rows; "
                   "needs read access to that zone; every query is audited)")
@_one_line_errors
def query_command(sql, data_dir, fmt, out, max_rows, zone):
    """Run one SELECT over the lake views (`aggregates`, `window_stats`; `events` with --zone restricted).

    Only the lake's own Parquet files can be read: no other files, COPY, ATTACH or extensions. The DLQ is
    never queryable.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from pipeline.lake.query import format_table, run_query

    data_dir = _existing(data_dir)
    if fmt == "parquet" and out is None:
        raise click.ClickException("--format parquet needs --out FILE")
    result = run_query(data_dir, sql, zone=zone)
    if fmt == "parquet":
        pq.write_table(result, out, compression="zstd")
    elif fmt == "csv":
        sink = str(out) if out else pa.BufferOutputStream()
        pacsv.write_csv(result, sink)
        if out is None:
            sys.stdout.write(sink.getvalue().to_pybytes().decode("utf-8"))
    else:
        text = format_table(result, max_rows=max_rows)
        if out:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            click.echo(text)
    if out:
        click.echo(f"wrote {result.num_rows} rows to {out}", err=True)


# ---- report -----------------------------------------------------------------------------------------------
@click.command("report")
@data_dir_option()
@click.option("--out", default="report.html", show_default=True, type=FILE, metavar="FILE",
              help="HTML file to write (self-contained: data, charts and script inlined).")
@click.option("--lang", type=click.Choice(["ru", "kk", "en"]), default="ru", show_default=True,
              help="Labels: Russian, Kazakh or English.")
@click.option("--last-days", "days", type=click.IntRange(min=1), default=None, metavar="N",
              help="Only the last N local days (default: all).")
@policy_option(help="Policy YAML (time zone, districts; default: the packaged policy).")
@_one_line_errors
def report_command(data_dir, out, lang, days, policy_path):
    """Write a self-contained HTML dashboard from the shareable zones (aggregates, window_stats, people)."""
    from pipeline.lake.report import build_report  # DuckDB: only this command pays for it
    from pipeline.policy.loader import load_policy

    data_dir = _existing(data_dir)
    data = build_report(data_dir, out, load_policy(policy_path).policy, lang, days)
    click.echo(f"wrote {out}: {data.first_day} – {data.last_day} (local days, {data.timezone})")


# ---- release-people ---------------------------------------------------------------------------------------
@click.command("release-people")
@data_dir_option()
@click.option("--only", "periods", multiple=True, type=click.Choice(["day", "month"]),
              help="Release only days or only months (default: both, days first).")
@option("--stage-partitions", type=click.IntRange(min=1), envvar="ANONPIPE_PARTITIONS", default=4,
              show_default=True, help="Partitions of telemetry.pseudonymized (which hour rows each event type has).")
@policy_option(help="Policy YAML (k, time zone, districts; default: the packaged policy).")
@_one_line_errors
def release_people_command(data_dir, periods, stage_partitions, policy_path):
    """Publish distinct people per local day and month (people zone) for every finished, unreleased period."""
    from pipeline.lake.people_release import PERIODS, release_people
    from pipeline.policy.loader import load_policy

    data_dir = _existing(data_dir)
    results = release_people(data_dir, load_policy(policy_path), tuple(periods) or PERIODS,
                             stage_partitions=stage_partitions)
    for r in results:
        click.echo(f"{r.period} {r.local_start}: {r.skipped or f'{r.published} rows published, {r.withheld} withheld'}")
    if not results:
        click.echo("nothing to release: no pseudonymized rows yet")


# ---- forget -----------------------------------------------------------------------------------------------
def _read_stdin_id(value: str | None) -> str | None:
    """`-` reads the id from stdin so it stays out of shell history and the process list."""
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise click.ClickException("expected an identifier on stdin")
    return line


def _identifiers(user_id, device_id, cookie_id, session_id) -> dict[str, str]:
    given = (("user_id", user_id), ("device_id", device_id), ("cookie_id", cookie_id), ("session_id", session_id))
    identifiers = {name: _read_stdin_id(value) for name, value in given if value}
    if not identifiers:
        raise click.ClickException("give at least one of --user-id, --device-id, --cookie-id, --session-id")
    return identifiers


def _person_options(command):
    """Options shared by `forget` and `export-person`: who, which policy and keys, which lakes."""
    for add_option in reversed([
        click.option("--user-id", help="the person's user id ('-' reads it from stdin)"),
        click.option("--device-id", help="the person's device id ('-' reads it from stdin)"),
        click.option("--cookie-id", help="the person's cookie id ('-' reads it from stdin)"),
        click.option("--session-id", help="a session id of the person ('-' reads it from stdin)"),
        policy_option(help="Policy YAML (which columns hold which pseudonyms; default: the packaged policy)."),
        keyring_option(),
        option("--lake-url", envvar="ANONPIPE_LAKE_URL", default=None, metavar="URL",
               help="also the object-store lake (s3://bucket/prefix, …)"),
        click.option("--max-linked", default=DEFAULT_MAX_COMPONENT, show_default=True, type=click.IntRange(min=1),
                     help="a linked group with more user/device/cookie ids than this (a shared or kiosk device) "
                          "is not expanded: only rows with the given ids count, and the group is reported"),
    ]):
        command = add_option(command)
    return data_dir_option()(command)


def _held_ring(keyring: Path):
    from pipeline.keys.ring import KeyRing
    ring = KeyRing.load(keyring)
    if not ring.held_keys():
        raise click.ClickException("the key ring holds no usable key: pseudonyms cannot be recomputed "
                                   "(data under destroyed keys is already unlinkable)")
    return ring


@click.command("forget")
@_person_options
@_one_line_errors
def forget_command(data_dir, user_id, device_id, cookie_id, session_id, policy_path, keyring_path, lake_url,
                   max_linked):
    """Erase a person: every row linked to the given ids under every key still held (local and object-store
    lakes, local DLQ), block their pseudonyms at ingest, list the copies that expire by themselves; audit."""
    from pipeline.lake.erasure import forget as forget_person
    from pipeline.policy.loader import load_policy, pseudonym_fields

    data_dir = _existing(data_dir)
    identifiers = _identifiers(user_id, device_id, cookie_id, session_id)
    policy = load_policy(policy_path)
    ring = _held_ring(keyring_path)
    result, log = forget_person(
        data_dir, ring, identifiers, pseudonym_fields(policy), lake_url=lake_url, max_component=max_linked,
        retention=policy.policy.retention.model_dump(),
        max_age=dt.timedelta(days=policy.policy.validation.max_age_days))
    click.echo(f"removed {result.rows_removed} rows from {result.files_rewritten} of {result.files_scanned} files "
               f"(keys checked: {len(result.keys_checked)}); audit entry appended to {log}")
    if result.linked:
        click.echo("linked pseudonyms found: " + ", ".join(f"{n} {c}" for c, n in result.linked.items()))
    click.echo(f"removed {result.dlq_lines_removed} dead-letter line(s); "
               f"{result.blocklist_entries} pseudonym(s) blocked at ingest until their key's epoch closes")
    for group in result.oversized:
        click.echo(f"NOT expanded (shared device?): a linked group under key {group['key_id']} with "
                   f"{sum(group['identifiers'].values())} ids over {group['rows']} rows; only rows with the given "
                   "ids were removed")
    click.echo("not reachable by this command (deleted by retention):")
    for copy in result.unreachable:
        click.echo(f"  {copy.where}: {copy.holds}; gone by {copy.expires_by}")


@click.command("export-person")
@_person_options
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIRECTORY",
              help="new folder for the export (created with mode 0700; must not exist)")
@_one_line_errors
def export_person_command(data_dir, user_id, device_id, cookie_id, session_id, policy_path, keyring_path, lake_url,
                          max_linked, out):
    """Subject-access export: every row held under the person's linked pseudonyms, their dead-letter lines,
    and a summary; audited."""
    from pipeline.lake.export_person import export_person
    from pipeline.policy.loader import load_policy, pseudonym_fields

    data_dir = _existing(data_dir)
    identifiers = _identifiers(user_id, device_id, cookie_id, session_id)
    summary = export_person(data_dir, _held_ring(keyring_path), identifiers, pseudonym_fields(load_policy(policy_path)),
                            out, lake_url=lake_url, max_component=max_linked)
    click.echo(f"wrote {summary['rows']} rows and {summary['dlq_lines']} dead-letter line(s) to {out}")


LAKE_COMMANDS = [lake_group, query_command, report_command, forget_command, export_person_command,
                 release_people_command]
