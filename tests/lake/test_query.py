"""Analyst SQL: views over each zone, hive columns, schema evolution, output formats, clear errors."""

from __future__ import annotations

import random

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pipeline.lake.cli import query_command
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS
from pipeline.lake.query import QueryError, run_query
from pipeline.lake.writer import write_batch

from .conftest import DAYS
from .lake_support import read_zone
from .synthetic import pseudonymized_table


def test_views_expose_every_row_and_the_partition_date(data_dir):
    for view, zone in (("events", PSEUDONYMIZED), ("aggregates", AGGREGATES), ("window_stats", WINDOW_STATS)):
        expected = read_zone(data_dir, zone)
        per_day = run_query(data_dir, f"SELECT CAST(event_date AS VARCHAR) d, count(*) n FROM {view} GROUP BY 1",
                            zone="restricted")
        counts = dict(zip(per_day.column("d").to_pylist(), per_day.column("n").to_pylist(), strict=True))
        grouped = expected.group_by("event_date").aggregate([("event_date", "count")]).to_pylist()
        assert counts == {str(r["event_date"]): r["event_date_count"] for r in grouped}
        assert set(counts) == {d.isoformat() for d in DAYS}


def test_new_column_in_a_later_file_is_queryable(data_dir, ring):
    newer = pseudonymized_table(ring, DAYS[0], 4, random.Random(1), ["u"], "r001-0000000000000009999-p0",
                                extra_columns={"consent_scope": ["analytics"] * 4})
    write_batch(data_dir, PSEUDONYMIZED, newer, "r001-0000000000000009999-p0")
    result = run_query(data_dir, "SELECT consent_scope, count(*) n FROM events GROUP BY 1 ORDER BY 1 NULLS LAST",
                       zone="restricted")
    assert result.to_pylist() == [{"consent_scope": "analytics", "n": 4},
                                  {"consent_scope": None, "n": read_zone(data_dir, PSEUDONYMIZED).num_rows - 4}]


def test_zone_without_files_gives_a_clear_message(tmp_path):
    (tmp_path / "lake").mkdir()
    with pytest.raises(QueryError, match="view 'aggregates' has no data yet"):
        run_query(tmp_path, "SELECT count(*) FROM aggregates")


def test_formats(data_dir, tmp_path, run):
    sql = "SELECT event_type, sum(events) AS events FROM aggregates GROUP BY 1 ORDER BY 1"
    expected = run_query(data_dir, sql)
    table = run(query_command, [sql, "--data-dir", data_dir])
    assert table.exit_code == 0, table.output
    assert f"({expected.num_rows} rows)" in table.output
    assert all(t in table.output for t in expected.column("event_type").to_pylist())

    out_csv = tmp_path / "r.csv"
    assert run(query_command, [sql, "--data-dir", data_dir, "--format", "csv", "--out", out_csv]).exit_code == 0
    assert pacsv.read_csv(out_csv).to_pylist() == expected.to_pylist()
    stdout_csv = run(query_command, [sql, "--data-dir", data_dir, "--format", "csv"])
    assert stdout_csv.output.splitlines()[0] == '"event_type","events"'

    out_pq = tmp_path / "r.parquet"
    assert run(query_command, [sql, "--data-dir", data_dir, "--format", "parquet", "--out", out_pq]).exit_code == 0
    assert pq.read_table(out_pq).equals(expected)


def test_table_output_is_cut_at_max_rows(data_dir, run):
    result = run(query_command, ["SELECT event_id FROM events ORDER BY 1", "--data-dir", data_dir,
                                 "--max-rows", "5", "--zone", "restricted"])
    total = read_zone(data_dir, PSEUDONYMIZED).num_rows
    assert f"… {total - 5} more rows" in result.output and f"({total} rows)" in result.output


@pytest.mark.parametrize("sql, message", [
    ("SELEC 1", "Parser Error"),
    ("SELECT nope FROM aggregates", "nope"),
    ("SELECT * FROM nowhere", "nowhere"),
    ("   ", "the query is empty"),
])
def test_bad_sql_is_one_error_line(data_dir, run, sql, message):
    result = run(query_command, [sql, "--data-dir", data_dir])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert message in result.output


def test_parquet_needs_out_and_missing_data_dir(tmp_path, data_dir, run):
    assert "needs --out" in run(query_command, ["SELECT 1", "--data-dir", data_dir, "--format", "parquet"]).output
    missing = run(query_command, ["SELECT 1", "--data-dir", tmp_path / "none"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
