"""`anonpipe query` as an attacker would use it: every way out of the lake views must be refused.

The checks look at what the attacker gets (rows, files written), not at DuckDB settings.
"""

from __future__ import annotations

import json

import pytest

from pipeline.lake.audit import ACCESS_LOG, read_audit
from pipeline.lake.cli import query_command
from pipeline.lake.layout import dlq_dir, zone_dir
from pipeline.lake.query import QueryError, run_query

RAW_SECRET = "raw-ip-203.0.113.77-and-user-alice@example.kz"


@pytest.fixture
def lake(data_dir):
    """The test lake plus a DLQ file holding raw personal data and an unrelated file beside the data dir."""
    part = dlq_dir(data_dir) / "date=2025-01-30"
    part.mkdir(parents=True)
    (part / "rejects.ndjson").write_text(json.dumps({"raw": RAW_SECRET}) + "\n")
    (data_dir.parent / "outside.csv").write_text(f"secret\n{RAW_SECRET}\n")
    return data_dir


def _paths(lake):
    events = next(zone_dir(lake, "pseudonymized").glob("*/*.parquet"))
    return {"dlq": dlq_dir(lake), "events": events, "outside": lake.parent / "outside.csv"}


ESCAPES = [
    # (statement template, why an analyst would try it)
    ("SELECT * FROM read_json_auto('{dlq}/**')", "raw rejected events"),
    ("SELECT * FROM read_json('{dlq}/date=2025-01-30/rejects.ndjson')", "one DLQ file by name"),
    ("SELECT * FROM read_text('{dlq}/date=2025-01-30/rejects.ndjson')", "DLQ as text"),
    ("SELECT * FROM read_blob('{dlq}/date=2025-01-30/rejects.ndjson')", "DLQ as bytes"),
    ("SELECT * FROM '{dlq}/date=2025-01-30/rejects.ndjson'", "replacement scan of a path"),
    ("SELECT * FROM read_csv('{outside}')", "any file of the machine"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "system files"),
    ("SELECT * FROM read_parquet('{events}')", "restricted zone by file name (shareable audience)"),
    ("SELECT * FROM parquet_scan('{events}/../*.parquet')", "restricted zone through a relative path"),
    ("SELECT * FROM glob('{dlq}/**')", "list the DLQ"),
    ("SELECT * FROM glob('/**')", "list the machine"),
    ("SELECT * FROM read_parquet('https://127.0.0.1:9/x.parquet')", "httpfs"),
    ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", "object store"),
    ("SELECT * FROM sniff_csv('{outside}')", "sniffer reads the file"),
]


@pytest.mark.parametrize("template, why", ESCAPES, ids=[w for _, w in ESCAPES])
def test_reads_outside_the_views_are_refused(lake, template, why):
    sql = template.format(**_paths(lake))
    # A restricted reader may read the pseudonymized files anyway (it is their zone); nobody else may.
    zones = ("shareable",) if "shareable audience" in why else ("shareable", "restricted")
    for zone in zones:
        with pytest.raises(QueryError) as caught:
            run_query(lake, sql, zone=zone)
        assert RAW_SECRET not in str(caught.value)


WRITES = [
    ("COPY (SELECT * FROM aggregates) TO '{target}'", "COPY out of the lake"),
    ("COPY (SELECT 1) TO '{zone}/event_date=2025-01-30/planted.parquet' (FORMAT parquet)", "plant a lake file"),
    ("ATTACH '{target}' AS stolen", "ATTACH a database file"),
    ("EXPORT DATABASE '{folder}'", "EXPORT"),
    ("INSTALL httpfs", "install an extension"),
    ("LOAD httpfs", "load an extension"),
    ("SET enable_external_access = true", "turn access back on"),
    ("SET lock_configuration = false", "unlock"),
    ("RESET lock_configuration", "reset the lock"),
    ("SET allowed_directories = ['/']", "widen the allowed paths"),
    ("PRAGMA enable_external_access", "pragma form"),
    ("CREATE TABLE t AS SELECT 1", "any DDL"),
    ("SELECT 1; COPY (SELECT 1) TO '{target}'", "second statement smuggled after a SELECT"),
    ("CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "secrets"),
]


@pytest.mark.parametrize("template, why", WRITES, ids=[w for _, w in WRITES])
def test_writes_and_unlocks_are_refused(lake, template, why):
    target = lake.parent / "stolen.out"
    folder = lake.parent / "exported"
    sql = template.format(target=target, folder=folder, zone=zone_dir(lake, "aggregates"))
    before = sorted(p for p in lake.rglob("*"))
    with pytest.raises(QueryError):
        run_query(lake, sql, zone="restricted")
    assert not target.exists() and not folder.exists()
    assert sorted(p for p in lake.rglob("*")) == before
    # The connection is still locked afterwards: a read outside the views fails in the next query too.
    with pytest.raises(QueryError):
        run_query(lake, f"SELECT * FROM read_csv('{lake.parent / 'outside.csv'}')")


def test_shareable_is_the_default_and_events_need_the_restricted_zone(lake, run):
    assert run_query(lake, "SELECT count(*) n FROM aggregates").column("n")[0].as_py() > 0
    with pytest.raises(QueryError, match="restricted zone: pass --zone restricted"):
        run_query(lake, "SELECT * FROM events")
    result = run(query_command, ["SELECT count(*) FROM events", "--data-dir", lake])
    assert result.exit_code == 1 and "--zone restricted" in result.output
    assert read_audit(lake, ACCESS_LOG) == []


def test_restricted_queries_are_audited_before_they_run(lake, run):
    result = run(query_command, ["SELECT count(*) AS n FROM events", "--data-dir", lake, "--zone", "restricted"])
    assert result.exit_code == 0, result.output
    entries = read_audit(lake, ACCESS_LOG)
    assert len(entries) == 1
    assert entries[0]["action"] == "query" and entries[0]["zone"] == "pseudonymized"
    assert entries[0]["sql"] == "SELECT count(*) AS n FROM events" and entries[0]["user"]


def test_no_audit_no_restricted_query(lake):
    audit = lake / "audit"
    audit.mkdir()
    (audit / ACCESS_LOG).mkdir()  # the log cannot be opened for appending
    with pytest.raises(OSError):
        run_query(lake, "SELECT count(*) FROM events", zone="restricted")


def test_dlq_is_not_a_view_in_any_zone(lake):
    for zone in ("shareable", "restricted"):
        views = run_query(lake, "SELECT table_name FROM information_schema.tables", zone=zone)
        names = set(views.column("table_name").to_pylist())
        assert not any("dlq" in n for n in names)
        assert ("events" in names) == (zone == "restricted")
