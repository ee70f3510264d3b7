"""HTML report: self-contained, embeds real PNG plots, built without the pseudonymized zone."""

from __future__ import annotations

import base64
import re
import shutil

import pyarrow.compute as pc

from pipeline.lake.cli import report_command
from pipeline.lake.layout import PSEUDONYMIZED, zone_dir

from .lake_support import read_zone

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PSEUDONYM_COLUMNS = ("user_pseudonym", "device_pseudonym", "cookie_pseudonym", "session_pseudonym")


def _embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)]


def test_report_embeds_plots_and_no_pseudonyms(data_dir, tmp_path, run):
    out = tmp_path / "report.html"
    result = run(report_command, ["--data-dir", data_dir, "--out", out])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")

    pngs = _embedded_pngs(html)
    assert len(pngs) == 6  # per day, per hour, suppression, users, map, shares
    assert all(p.startswith(PNG_SIGNATURE) and len(p) > 5_000 for p in pngs)
    assert not re.search(r"""(src|href)=['"](?!data:)""", html), "report must not reference external files"
    for title in ("Events per day", "Events per hour", "Distinct users per day", "events per H3 cell",
                  "Operating systems and device classes", "Suppression per window"):
        assert title in html
    assert "upper bound" in html and "lower bound" in html

    events = read_zone(data_dir, PSEUDONYMIZED)
    for column in PSEUDONYM_COLUMNS:
        assert column not in html
        for value in pc.unique(events.column(column)).drop_null().to_pylist():
            assert value not in html


def test_report_does_not_need_the_pseudonymized_zone(data_dir, tmp_path, run):
    shutil.rmtree(zone_dir(data_dir, PSEUDONYMIZED))
    out = tmp_path / "r.html"
    assert run(report_command, ["--data-dir", data_dir, "--out", out]).exit_code == 0
    assert len(_embedded_pngs(out.read_text())) == 6


def test_empty_lake_and_missing_dir_are_one_line_errors(tmp_path, run):
    empty = run(report_command, ["--data-dir", tmp_path, "--out", tmp_path / "r.html"])
    assert empty.exit_code == 1 and "no aggregates or window_stats" in empty.output
    assert empty.output.count("\n") == 1
    missing = run(report_command, ["--data-dir", tmp_path / "x", "--out", tmp_path / "r.html"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert not (tmp_path / "r.html").exists()
