"""The dashboard in headless Chromium: each chart's numbers equal a DuckDB query over the shareable zones.

The queries here are written independently of pipeline/lake/report_data.py (local time via DuckDB's own time
zone functions, districts from the published cells); screenshots go to the test's output folder (and to
$ANONPIPE_TEST_OUTPUT when set).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.common.districts import load_districts
from pipeline.lake.cli import report_command
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, zone_dir

from .browser import DashboardDom, dump_dom, screenshot
from .lake_support import read_zone
from .week_lake import GEOJSON

ZONE = "Asia/Almaty"
FILTERS = {
    "all": {},
    "appeals": {"event_type": "appeal_submit"},
    "housing, three days": {"service": "housing", "from": "2026-12-01", "to": "2026-12-03"},
}
PSEUDONYM_COLUMNS = ("user_pseudonym", "device_pseudonym", "cookie_pseudonym", "session_pseudonym")


@pytest.fixture(scope="module")
def report(week_lake, tmp_path_factory):
    data_dir, policy = week_lake
    out = tmp_path_factory.mktemp("report") / "report-en.html"
    from click.testing import CliRunner
    result = CliRunner().invoke(report_command, ["--data-dir", str(data_dir), "--out", str(out), "--lang", "en",
                                                 "--policy", str(data_dir.parent / "policy.yaml")])
    assert result.exit_code == 0, result.output
    return out


def sql_view(data_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    glob = str(zone_dir(data_dir, AGGREGATES) / "*" / "*.parquet")
    cells = [c for (c,) in con.execute(f"SELECT DISTINCT geo_h3 FROM read_parquet('{glob}')").fetchall()]
    districts = load_districts(GEOJSON, city="Astana (synthetic)")
    con.register("cell_district", pa.table({"geo_h3": cells, "district": [
        c if c in ("*", "unknown") else (districts.district_of(c) or c) for c in cells]}))
    con.execute(f"""CREATE VIEW a AS SELECT *, strftime(timezone('{ZONE}', window_start), '%Y-%m-%d') AS day,
        hour(timezone('{ZONE}', window_start)) AS h, isodow(timezone('{ZONE}', window_start)) AS w,
        coalesce(service, 'unknown') AS svc FROM read_parquet('{glob}') JOIN cell_district USING (geo_h3)""")
    con.execute(f"CREATE VIEW people AS SELECT * FROM read_parquet('{zone_dir(data_dir, PEOPLE)}/*/*.parquet')")
    return con


def where(filters: dict) -> str:
    parts = ["true"]
    if "event_type" in filters:
        parts.append(f"event_type = '{filters['event_type']}'")
    if "service" in filters:
        parts.append(f"svc = '{filters['service']}'")
    parts.append(f"day BETWEEN '{filters.get('from', '2026-11-30')}' AND '{filters.get('to', '2026-12-06')}'")
    return " AND ".join(parts)


def table(dom: DashboardDom, chart: str) -> list[tuple]:
    header, *rows = dom.tables[chart]
    return [tuple(int(v) if v.lstrip("-").isdigit() else (float(v) if v.replace(".", "").lstrip("-").isdigit()
                                                           else (v or None)) for v in row) for row in rows]


def fragment(filters: dict) -> str:
    return "&".join(f"{k}={v}" for k, v in filters.items())


@pytest.mark.parametrize("name", FILTERS)
def test_every_chart_equals_a_duckdb_query_over_the_published_rows(week_lake, report, tmp_path, name):
    data_dir, policy = week_lake
    filters = FILTERS[name]
    dom = DashboardDom(dump_dom(report, fragment(filters), tmp_path / "profile"))
    con = sql_view(data_dir)
    w = where(filters)

    def q(sql):
        return [tuple(r) for r in con.execute(sql).fetchall()]

    days = [d for (d,) in q(f"SELECT DISTINCT day FROM a WHERE day BETWEEN '{filters.get('from', '2026-11-30')}' "
                            f"AND '{filters.get('to', '2026-12-06')}' ORDER BY 1")]
    per_day = dict(q(f"SELECT day, sum(events) FROM a WHERE {w} GROUP BY 1"))
    assert [(r[0], r[1]) for r in table(dom, "per_day")] == [(d, per_day.get(d, 0)) for d in days]
    assert table(dom, "service_per_day") == q(f"SELECT day, svc, sum(events) FROM a WHERE {w} GROUP BY 1, 2 ORDER BY 1, 2")
    assert table(dom, "heatmap") == q(f"SELECT w, h, sum(events) FROM a WHERE {w} GROUP BY 1, 2 ORDER BY 1, 2")
    assert table(dom, "district_service") == q(
        f"SELECT district, svc, sum(events) FROM a WHERE {w} GROUP BY 1, 2 ORDER BY 1, 2")
    for chart, column, limit in (("event_types", "event_type", 12), ("services", "svc", 12),
                                 ("screens", "coalesce(screen, 'unknown')", 12), ("districts", "district", 20),
                                 ("os", "coalesce(os_family, 'unknown')", 12),
                                 ("devices", "coalesce(device_class, 'unknown')", 12)):
        expected = dict(q(f"SELECT {column}, sum(events) FROM a WHERE {w} GROUP BY 1"))
        shown = table(dom, chart)
        assert len(shown) == min(limit, len(expected)), chart
        assert all(expected[key] == value for key, value in shown), chart
        assert [v for _, v in shown] == sorted((v for _, v in shown), reverse=True)
        hidden = [v for key, v in expected.items() if key not in dict(shown)]
        assert not hidden or max(hidden) <= shown[-1][1], chart
    people = dict(q(f"SELECT period_start, people FROM people WHERE period = 'day' AND "
                    f"event_type = '{filters.get('event_type', '*')}' AND service = '{filters.get('service', '*')}' "
                    f"AND district = '*'"))
    assert table(dom, "people_per_day") == [(d, people.get(d)) for d in days]
    scope = ("period = 'day' AND event_type = '*' AND district <> '*' AND service NOT IN ('*', 'unknown') "
             + (f"AND service = '{filters['service']}' " if "service" in filters else "")
             + f"AND period_start BETWEEN '{days[0]}' AND '{days[-1]}'")
    assert table(dom, "people_district_service") == q(
        f"SELECT period_start, district, service, people FROM people WHERE {scope} AND period_start = "
        f"(SELECT max(period_start) FROM people WHERE {scope}) ORDER BY 2, 3")
    if name == "all":
        assert all(people.get(d) for d in days), "daily distinct people published for every day of the week"
    assert int(dom.kpis["events"]) == sum(per_day.values())
    # the marks drawn are the rows of the table (what the CSV download writes)
    assert [int(v) for _, v in dom.marks["heatmap"]] == [r[2] for r in table(dom, "heatmap")]
    assert [(k, int(v)) for k, v in dom.marks["event_types"]] == [(r[0], r[1]) for r in table(dom, "event_types")]


def test_labels_in_three_languages_and_screenshots(week_lake, tmp_path):
    data_dir, _ = week_lake
    from click.testing import CliRunner
    out_dir = Path(os.environ.get("ANONPIPE_TEST_OUTPUT") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    titles = {"ru": "События по дням", "kk": "Күндер бойынша оқиғалар", "en": "Events per day"}
    weekdays = {"ru": "Пн", "kk": "Дс", "en": "Mon"}
    for lang, view in (("en", ""), ("ru", "event_type=appeal_submit"), ("kk", "")):
        page = tmp_path / f"report-{lang}.html"
        result = CliRunner().invoke(report_command, ["--data-dir", str(data_dir), "--out", str(page), "--lang", lang,
                                                     "--policy", str(data_dir.parent / "policy.yaml")])
        assert result.exit_code == 0, result.output
        text = dump_dom(page, view, tmp_path / "profile")
        assert f"<html lang=\"{lang}\"" in text and titles[lang] in text and f">{weekdays[lang]}<" in text
        shot = screenshot(page, view, out_dir / f"report-{lang}{'-appeals' if view else ''}.png", tmp_path / "profile")
        assert shot.read_bytes().startswith(b"\x89PNG")


def test_the_report_needs_no_restricted_data_and_shows_none(week_lake, report, tmp_path):
    data_dir, _ = week_lake
    html = report.read_text(encoding="utf-8")
    events = read_zone(data_dir, PSEUDONYMIZED)
    for column in PSEUDONYM_COLUMNS:
        assert column not in html
        for value in pc.unique(events.column(column)).drop_null().to_pylist()[:2000]:
            assert value not in html
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns(PSEUDONYMIZED))
    from click.testing import CliRunner
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, ["--data-dir", str(copy), "--out", str(out), "--lang", "en",
                                                 "--policy", str(data_dir.parent / "policy.yaml")])
    assert result.exit_code == 0, result.output
    strip = lambda t: t.split("<footer>")[0] + t.split("</footer>")[1]  # noqa: E731 - the footer has the time
    assert strip(out.read_text(encoding="utf-8")) == strip(html)


def test_empty_lake_missing_dir_and_unknown_language_are_one_line_errors(tmp_path, run):
    empty = run(report_command, ["--data-dir", tmp_path, "--out", tmp_path / "r.html"])
    assert empty.exit_code == 1 and "no aggregates" in empty.output
    assert empty.output.count("\n") == 1
    missing = run(report_command, ["--data-dir", tmp_path / "x", "--out", tmp_path / "r.html"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    language = run(report_command, ["--data-dir", tmp_path, "--lang", "de"])
    assert language.exit_code == 2 and "'de' is not one of" in language.output
    assert not (tmp_path / "r.html").exists()
