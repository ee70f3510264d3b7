"""Issue 21's acceptance: a generated week answers the city's four questions from the shareable zone alone, each
shown in the dashboard and reproduced by one `anonpipe query` (the queries printed in docs/columns.md)."""

from __future__ import annotations

import csv
import io
import shutil

import pyarrow as pa
import pytest
from click.testing import CliRunner

from pipeline.lake.cli import query_command, report_command
from pipeline.lake.layout import PSEUDONYMIZED
from pipeline.lake.query import format_table

from .browser import DashboardDom, dump_dom

APPEALS_BY_DAY_SERVICE_DISTRICT = """
SELECT local_date, service, district, sum(events) AS appeals FROM aggregates_local
WHERE event_type = 'appeal_submit' GROUP BY ALL ORDER BY ALL"""
TOP_SCREENS = "SELECT screen, sum(events) AS events FROM aggregates_local GROUP BY screen ORDER BY events DESC, screen"
HOUR_BY_WEEKDAY = """
SELECT local_weekday, local_hour, sum(events) AS events FROM aggregates_local GROUP BY ALL ORDER BY ALL"""
DAILY_PEOPLE = """
SELECT period_start AS local_date, people FROM people
WHERE period = 'day' AND event_type = '*' AND service = '*' AND district = '*' ORDER BY 1"""


@pytest.fixture(scope="module")
def shareable_only(week_lake, tmp_path_factory):
    """The week's lake without its restricted zone, and the dashboard built from it."""
    data_dir, _ = week_lake
    root = tmp_path_factory.mktemp("shareable")
    shutil.copytree(data_dir, root / "data", ignore=shutil.ignore_patterns(PSEUDONYMIZED))
    policy = data_dir.parent / "policy.yaml"
    page = root / "report.html"
    result = CliRunner().invoke(report_command, ["--data-dir", str(root / "data"), "--out", str(page),
                                                 "--policy", str(policy), "--lang", "en"])
    assert result.exit_code == 0, result.output
    return root / "data", policy, page


def query(data_dir, policy, sql) -> list[dict]:
    result = CliRunner().invoke(query_command, [sql, "--data-dir", str(data_dir), "--format", "csv"],
                                env={"ANONPIPE_POLICY": str(policy)})
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def rows(dom: DashboardDom, chart: str) -> list[list[str]]:
    return dom.tables[chart][1:]


def test_the_four_questions(shareable_only, tmp_path):
    data_dir, policy, page = shareable_only
    appeals = query(data_dir, policy, APPEALS_BY_DAY_SERVICE_DISTRICT)
    assert len({r["local_date"] for r in appeals}) >= 5  # a day whose few appeals all stayed under k has no row
    dom = DashboardDom(dump_dom(page, "event_type=appeal_submit", tmp_path / "profile"))
    by_day_service: dict = {}
    by_district_service: dict = {}
    for r in appeals:
        key = (r["local_date"], r["service"])
        by_day_service[key] = by_day_service.get(key, 0) + int(r["appeals"])
        key = (r["district"], r["service"])
        by_district_service[key] = by_district_service.get(key, 0) + int(r["appeals"])
    assert {(d, s): int(v) for d, s, v in rows(dom, "service_per_day")} == by_day_service
    assert {(d, s): int(v) for d, s, v in rows(dom, "district_service")} == by_district_service

    dom = DashboardDom(dump_dom(page, "", tmp_path / "profile"))
    screens = query(data_dir, policy, TOP_SCREENS)
    shown = rows(dom, "screens")
    assert [(s, int(v)) for s, v in shown] == [(r["screen"], int(r["events"])) for r in screens][:len(shown)]
    heat = query(data_dir, policy, HOUR_BY_WEEKDAY)
    assert [tuple(map(int, r)) for r in rows(dom, "heatmap")] == [
        (int(r["local_weekday"]), int(r["local_hour"]), int(r["events"])) for r in heat]
    people = query(data_dir, policy, DAILY_PEOPLE)
    assert len(people) == 7
    assert [(d, int(v)) for d, v in rows(dom, "people_per_day")] == [(r["local_date"], int(r["people"])) for r in people]


def test_query_prints_empty_results_and_nulls_plainly(shareable_only):
    data_dir, policy, _ = shareable_only
    result = CliRunner().invoke(query_command, ["SELECT * FROM people WHERE people < 0", "--data-dir", str(data_dir)],
                                env={"ANONPIPE_POLICY": str(policy)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["period", "period_start"] and lines[-1] == "(0 rows)"
    assert "Empty DataFrame" not in result.output
    text = format_table(pa.table({"service": ["housing", None], "events": [3, None]}))
    assert [line.split() for line in text.splitlines()] == [["service", "events"], ["housing", "3"], ["NULL", "NULL"],
                                                           ["(2", "rows)"]]
    assert "NaN" not in text and "None" not in text
