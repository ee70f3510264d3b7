"""`anonpipe report`: a self-contained HTML dashboard of the shareable zones (no network, no external files).

The data comes from pipeline/lake/report_data.py (DuckDB over aggregates, window_stats and people, in the
policy's local time), the labels from pipeline/lake/report_i18n.py, the charts and filters from
report_assets/dashboard.js, which draws inline SVG in the browser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
from pathlib import Path

from pipeline.lake.report_data import DashboardData, ReportError, collect  # noqa: F401 - ReportError re-exported
from pipeline.lake.report_i18n import LANGUAGES, labels
from pipeline.lake.writer import write_atomic
from pipeline.policy.model import Policy

ASSETS = Path(__file__).with_name("report_assets")
# (chart id, label key, wide): the page layout, top to bottom; narrow charts go two per row.
CHARTS = [("per_day", "per_day", True), ("people_per_day", "people_per_day", True),
          ("service_per_day", "service_per_day", True), ("event_types", "event_types", False),
          ("services", "services", False), ("screens", "screens", False), ("districts", "districts", False),
          ("district_service", "district_service", True),
          ("people_district_service", "people_district_service", True), ("heatmap", "heatmap", True), ("os", "os", False),
          ("devices", "devices", False)]


def _json_script(element_id: str, value) -> str:
    # "</" cannot end the script element early once escaped; JSON stays valid.
    text = json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/")
    return f"<script type='application/json' id='{element_id}'>{text}</script>"


def _figure(chart: str, title: str, download: str) -> str:
    return (f"<figure data-chart='{chart}'><figcaption><span>{html.escape(title)}</span>"
            f"<button type='button' class='csv'>{html.escape(download)}</button></figcaption>"
            f"<div class='body'></div><table class='data' hidden></table></figure>")


def render_html(data: DashboardData, lang: str, generated: dt.datetime) -> str:
    words = labels(lang)
    k = "–".join(str(v) for v in (data.k[0], data.k[-1])) if len(set(data.k)) > 1 else str(data.k[0])
    payload = dataclasses.asdict(data) | {"lang": lang}
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{html.escape(words['title'])}</title><style>{(ASSETS / 'dashboard.css').read_text()}</style>"
             f"</head><body><h1>{html.escape(words['title'])}</h1>"
             f"<p class='sub'>{html.escape(words['subtitle'].format(k=k, tz=data.timezone))}</p>"
             f"<form id='filters' onsubmit='return false'></form><div id='kpis'></div>"]
    narrow: list[str] = []
    for chart, key, wide in CHARTS:
        figure = _figure(chart, words[key], words["download"])
        if wide:
            if narrow:
                parts.append(f"<div class='grid2'>{''.join(narrow)}</div>")
                narrow = []
            parts.append(figure)
        else:
            narrow.append(figure)
            if len(narrow) == 2:
                parts.append(f"<div class='grid2'>{''.join(narrow)}</div>")
                narrow = []
    if narrow:
        parts.append(f"<div class='grid2'>{''.join(narrow)}</div>")
    when = f"{generated:%Y-%m-%d %H:%M} UTC"
    parts.append(f"<p id='suppression'></p><footer>{html.escape(words['footer'].format(when=when))} "
                 f"Policy: {html.escape(', '.join(data.policy_versions))}.</footer>")
    parts.append(_json_script("dashboard-data", payload) + _json_script("dashboard-labels", words))
    parts.append(f"<script>{(ASSETS / 'dashboard.js').read_text()}</script></body></html>")
    return "".join(parts)


def build_report(data_dir: str | os.PathLike, out: str | os.PathLike, policy: Policy, lang: str = "ru",
                 days: int | None = None) -> DashboardData:
    """Collect, render, and write the page atomically (0644: it holds published statistics only)."""
    if lang not in LANGUAGES:
        raise ReportError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    data = collect(data_dir, policy, days)
    text = render_html(data, lang, dt.datetime.now(dt.timezone.utc))
    write_atomic(Path(out), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), mode=0o644)
    return data
