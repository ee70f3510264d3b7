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


def _dp_section(data: DashboardData, words: dict[str, str]) -> str:
    """The noisy releases apart from the charts: value ±95 % per statistic, and the budget ledger (static HTML)."""
    if not data.dp_rows and not data.dp_budget:
        return ""
    e = html.escape
    charts = {"dp": words["dp_charts_dp"], "mixed": words["dp_charts_mixed"]}.get(data.charts_release, "")
    parts = [f"<section id='dp'><h2>{e(words['dp_title'])}</h2><p class='dp-intro'>{e(words['dp_intro'])} "
             f"{e(charts)}</p>"]
    if data.dp_rows:
        column = words.get(data.dp_column or "", data.dp_column or "")
        head = "".join(f"<th>{e(h)}</th>" for h in (words["day"], column, words["events"], words["people"],
                                                      words["dp_cells"]))
        body = "".join(f"<tr><th>{e(r['day'])}</th><th>{e(str(r['value']))}</th>"
                       f"<td>{r['events']} <small>±{r['events_ci95']}</small></td>"
                       f"<td>{r['users']} <small>±{r['users_ci95']}</small></td><td>{r['cells']}</td></tr>"
                       for r in data.dp_rows)
        parts.append(f"<table class='matrix dp'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                     f"<p class='note'>{e(words['dp_people_note'])}</p>")
    parts.append(f"<h3>{e(words['dp_budget'])}</h3>")
    if data.dp_budget:
        from pipeline.dp.budget import BUDGET_SPENT
        head = "".join(f"<th>{e(words[k])}</th>" for k in ("dp_period", "dp_spent", "dp_released", "dp_refused",
                                                            "dp_reason"))
        body = "".join(f"<tr><th>{e(p['period'])}</th><td>{p['epsilon']:.3g}</td><td>{p['released']}</td>"
                       f"<td>{p['refused']}</td><td class='reason'>"
                       f"{e('; '.join(words['dp_budget_spent'] if r == BUDGET_SPENT else r for r in p['reasons']))}"
                       f"</td></tr>" for p in data.dp_budget)
        parts.append(f"<table class='matrix dp-budget'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    else:
        parts.append(f"<p class='note'>{e(words['dp_no_ledger'])}</p>")
    parts.append(f"<p class='note'>{e(words['dp_compare'])}</p></section>")
    return "".join(parts)


def render_html(data: DashboardData, lang: str, generated: dt.datetime) -> str:
    words = labels(lang)
    k = "–".join(str(v) for v in (data.k[0], data.k[-1])) if len(set(data.k)) > 1 else str(data.k[0])
    payload = dataclasses.asdict(data) | {"lang": lang}
    subtitle = "subtitle_dp" if data.charts_release == "dp" else "subtitle"  # "at least k people" is untrue of noise
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{html.escape(words['title'])}</title><style>{(ASSETS / 'dashboard.css').read_text()}</style>"
             f"</head><body><h1>{html.escape(words['title'])}</h1>"
             f"<p class='sub'>{html.escape(words[subtitle].format(k=k, tz=data.timezone))}</p>"
             f"{_dp_section(data, words)}"
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
