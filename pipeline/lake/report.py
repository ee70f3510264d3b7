"""Self-contained HTML report of the anonymous zones (aggregates, window_stats) with embedded PNG plots."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # headless: the report is rendered on servers without a display

import h3  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from pipeline.lake.layout import AGGREGATES, WINDOW_STATS, zone_dir  # noqa: E402
from pipeline.lake.writer import write_atomic  # noqa: E402

# Only these zones are ever read: they hold no pseudonyms. The pseudonymized zone is never opened here.
REPORT_ZONES = {"aggregates": AGGREGATES, "window_stats": WINDOW_STATS}
GENERALIZED = "*"
FIGSIZE = (10, 4.2)
COLORS = {"published": "#2b6cb0", "suppressed": "#dd6b20", "late": "#718096", "upper": "#2b6cb0",
          "lower": "#38a169"}


class ReportError(ValueError):
    """The report cannot be built (e.g. no anonymous data yet)."""


@dataclass
class Section:
    title: str
    note: str
    png: bytes | None = None
    missing: str | None = None


@dataclass
class ReportData:
    summary: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)


# ---- reading ----------------------------------------------------------------------------------------------
def _connect(data_dir: str | os.PathLike) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    present = set()
    for view, zone in REPORT_ZONES.items():
        root = zone_dir(data_dir, zone)
        if root.is_dir() and any(root.glob("*/*.parquet")):
            pattern = str(root / "**" / "*.parquet").replace("'", "''")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{pattern}', "
                        "hive_partitioning = true, union_by_name = true)")
            present.add(view)
    return con, present


def _df(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.sql(sql).df()


# ---- plots ------------------------------------------------------------------------------------------------
def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _legend_with_headroom(ax, top: float, **kwargs) -> None:
    """Leave empty space above the data so the legend never hides bars or lines."""
    ax.set_ylim(0, max(1.0, float(top)) * 1.3)
    ax.legend(loc="upper left", ncol=2, frameon=False, **kwargs)


def _thousands(ax, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))


def plot_events_per_day(days: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=FIGSIZE)
    labels = [d.strftime("%Y-%m-%d") for d in days["day"]]
    published = days["events"] - days["suppressed_events"]
    ax.bar(labels, published, color=COLORS["published"], label="published in aggregates")
    ax.bar(labels, days["suppressed_events"], bottom=published, color=COLORS["suppressed"],
           label="suppressed (cell stayed under k)")
    ax.set_title("Events per day (UTC)")
    ax.set_xlabel("day (UTC)")
    ax.set_ylabel("events")
    _thousands(ax)
    _legend_with_headroom(ax, days["events"].max())
    _thin_labels(ax, len(labels))
    return _png(fig)


def _thin_labels(ax, count: int, max_labels: int = 20) -> None:
    step = max(1, math.ceil(count / max_labels))
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_visible(i % step == 0)
        label.set_rotation(45)
        label.set_horizontalalignment("right")


def plot_events_per_hour(hours: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot(hours["hour"], hours["events"], color=COLORS["published"], lw=1.4, marker="." if len(hours) < 200 else None,
            label="all events in the window")
    ax.plot(hours["hour"], hours["suppressed_events"], color=COLORS["suppressed"], lw=1.2,
            label="of which suppressed")
    ax.set_title("Events per hour (UTC, by window start)")
    ax.set_xlabel("hour (UTC)")
    ax.set_ylabel("events per hour")
    _thousands(ax)
    _legend_with_headroom(ax, hours["events"].max())
    fig.autofmt_xdate()
    return _png(fig)


def plot_users_per_day(users: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=FIGSIZE)
    labels = [d.strftime("%Y-%m-%d") for d in users["day"]]
    ax.bar(labels, users["upper"], color=COLORS["upper"], alpha=0.75,
           label="upper bound: sum of users over published cells")
    if users["lower"].notna().any():
        ax.plot(labels, users["lower"], color=COLORS["lower"], marker="o", lw=0, markersize=7,
                label="lower bound: distinct users in the busiest window")
    ax.set_title("Distinct users per day (UTC): the true value lies between the bounds")
    ax.set_xlabel("day (UTC)")
    ax.set_ylabel("users")
    _thousands(ax)
    _legend_with_headroom(ax, users["upper"].max())
    _thin_labels(ax, len(labels))
    return _png(fig)


def plot_h3_map(cells: pd.DataFrame) -> bytes:
    """Cell polygons on a lon/lat plane coloured by events; coarse roll-up cells are drawn under finer ones."""
    cells = cells.assign(res=[h3.get_resolution(c) for c in cells["geo_h3"]]).sort_values("res")
    polygons = [[(lng, lat) for lat, lng in h3.cell_to_boundary(c)] for c in cells["geo_h3"]]
    fig, ax = plt.subplots(figsize=(10, 7))
    norm = LogNorm(vmin=max(1, cells["events"].min()), vmax=max(2, cells["events"].max()))
    collection = PolyCollection(polygons, array=cells["events"].to_numpy(), cmap="viridis", norm=norm,
                                edgecolors="white", linewidths=0.4, alpha=0.9)
    ax.add_collection(collection)
    lats = [lat for poly in polygons for _, lat in poly]
    lngs = [lng for poly in polygons for lng, _ in poly]
    pad = 0.01
    ax.set_xlim(min(lngs) - pad, max(lngs) + pad)
    ax.set_ylim(min(lats) - pad, max(lats) + pad)
    # Equirectangular view: stretch longitude so cells look like hexagons at this latitude.
    ax.set_aspect(1 / math.cos(math.radians((min(lats) + max(lats)) / 2)))
    bar = fig.colorbar(collection, ax=ax, shrink=0.8)
    bar.set_label("published events (log scale)")
    resolutions = sorted(cells["res"].unique())
    ax.set_title(f"Published events per H3 cell (resolutions {', '.join(map(str, resolutions))}; "
                 "larger cells are roll-ups of sparse areas)")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    return _png(fig)


def plot_shares(os_shares: pd.DataFrame, device_shares: pd.DataFrame) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, frame, title in ((axes[0], os_shares, "Operating system"), (axes[1], device_shares, "Device class")):
        frame = frame.sort_values("events")
        share = 100 * frame["events"] / frame["events"].sum()
        names = [("generalized (*)" if v == GENERALIZED else str(v)) for v in frame["value"]]
        bars = ax.barh(names, share, color=COLORS["published"])
        ax.bar_label(bars, labels=[f"{s:.1f}%" for s in share], padding=3, fontsize=9)
        ax.set_xlim(0, min(100, share.max() * 1.25 + 5))
        ax.set_title(f"{title}: share of published events")
        ax.set_xlabel("share of published events (%)")
    return _png(fig)


def plot_suppression(windows: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=FIGSIZE)
    rate = 100 * windows["suppressed_events"] / windows["events"].where(windows["events"] > 0)
    ax.plot(windows["window_start"], rate, color=COLORS["suppressed"], marker="." if len(windows) < 200 else None,
            lw=1.2)
    ax.set_title("Suppression rate per window: events in cells that stayed under k after all roll-ups")
    ax.set_xlabel("window start (UTC)")
    ax.set_ylabel("suppressed events (% of window)")
    ax.set_ylim(0, max(5.0, float(rate.max() if rate.notna().any() else 0) * 1.15))
    fig.autofmt_xdate()
    return _png(fig)


# ---- assembling -------------------------------------------------------------------------------------------
def collect(data_dir: str | os.PathLike) -> ReportData:
    if not Path(data_dir).is_dir():
        raise ReportError(f"data dir {data_dir} does not exist")
    con, present = _connect(data_dir)
    if not present:
        raise ReportError(f"no aggregates or window_stats files under {Path(data_dir) / 'lake'} yet")
    data = ReportData()
    try:
        if "window_stats" in present:
            _window_sections(con, data)
        else:
            data.sections.append(Section("Events", "", missing="no window_stats files yet"))
        if "aggregates" in present:
            _aggregate_sections(con, data, "window_stats" in present)
        else:
            data.sections.append(Section("Published cells", "", missing="no aggregates files yet"))
    finally:
        con.close()
    return data


def _window_sections(con, data: ReportData) -> None:
    # Event totals come from kind = 'window' rows only, late events from all rows: the same reading of the
    # zone as pipeline/lake/counts.py, so the report and the pipeline's counters agree.
    con.execute("CREATE TEMP VIEW windows AS SELECT * FROM window_stats WHERE kind = 'window'")
    totals = _df(con, "SELECT min(window_start) first, max(window_end) last, count(*) n, sum(events) events, "
                      "sum(suppressed_events) suppressed, (SELECT sum(late_events) FROM window_stats) late "
                      "FROM windows").iloc[0]
    data.summary["Time span (UTC)"] = f"{totals['first']:%Y-%m-%d %H:%M} – {totals['last']:%Y-%m-%d %H:%M}"
    data.summary["Windows released"] = f"{int(totals['n']):,}"
    data.summary["Events in windows"] = f"{int(totals['events']):,}"
    rate = totals["suppressed"] / totals["events"] if totals["events"] else 0
    data.summary["Suppressed events"] = f"{int(totals['suppressed']):,} ({100 * rate:.2f}%)"
    data.summary["Late events"] = f"{int(totals['late']):,}"
    days = _df(con, "SELECT CAST(window_start AS DATE) AS day, sum(events) events, "
                    "sum(suppressed_events) suppressed_events FROM windows GROUP BY 1 ORDER BY 1")
    data.sections.append(Section("Events per day", "All events counted in released windows; the orange part "
                                 "was suppressed because its cell had fewer than k distinct users.",
                                 plot_events_per_day(days)))
    hours = _df(con, "SELECT date_trunc('hour', window_start) AS hour, sum(events) events, "
                     "sum(suppressed_events) suppressed_events FROM windows GROUP BY 1 ORDER BY 1")
    hours["hour"] = hours["hour"].dt.tz_localize(None)
    data.sections.append(Section("Events per hour", "Windows are attributed to the hour they start in.",
                                 plot_events_per_hour(hours)))
    windows = _df(con, "SELECT window_start, sum(events) events, sum(suppressed_events) suppressed_events "
                       "FROM windows GROUP BY 1 ORDER BY 1")
    windows["window_start"] = windows["window_start"].dt.tz_localize(None)
    data.sections.append(Section("Suppression per window", "Share of a window's events not published in any "
                                  "aggregate row. High values mean k is large for the traffic of that window.",
                                  plot_suppression(windows)))


def _aggregate_sections(con, data: ReportData, have_window_stats: bool) -> None:
    totals = _df(con, "SELECT sum(events) events, count(*) cells, min(k) kmin, max(k) kmax, "
                      "string_agg(DISTINCT policy_version, ', ') policies FROM aggregates").iloc[0]
    data.summary["Published events (aggregates)"] = f"{int(totals['events']):,}"
    data.summary["Published cells"] = f"{int(totals['cells']):,}"
    kmin, kmax = int(totals["kmin"]), int(totals["kmax"])
    data.summary["k"] = str(kmin) if kmin == kmax else f"{kmin}–{kmax}"
    data.summary["Policy versions"] = str(totals["policies"])
    lower = ("(SELECT CAST(window_start AS DATE) AS day, max(users) AS lower FROM windows GROUP BY 1)"
             if have_window_stats else "(SELECT NULL::DATE AS day, NULL::BIGINT AS lower WHERE false)")
    users = _df(con, f"SELECT u.day, u.upper, l.lower FROM (SELECT CAST(window_start AS DATE) AS day, "
                     f"sum(users) AS upper FROM aggregates GROUP BY 1) u LEFT JOIN {lower} l USING (day) ORDER BY 1")
    data.sections.append(Section("Distinct users per day", "Aggregates hold distinct users per cell and window, "
                                 "not per day. The bars add up every published cell's users, so a person active in "
                                 "several cells or hours is counted several times: an upper bound. The dots are the "
                                 "distinct users of the busiest single window: a lower bound.",
                                 plot_users_per_day(users)))
    cells = _df(con, f"SELECT geo_h3, sum(events) events FROM aggregates WHERE geo_h3 IS NOT NULL "
                     f"AND geo_h3 <> '{GENERALIZED}' GROUP BY 1")
    cells = cells[[h3.is_valid_cell(c) for c in cells["geo_h3"]]]
    unlocated = _df(con, f"SELECT coalesce(sum(events), 0) e FROM aggregates WHERE geo_h3 IS NULL "
                         f"OR geo_h3 = '{GENERALIZED}'").iloc[0]["e"]
    note = (f"{int(unlocated):,} published events have their location generalized to * and are not on the map. "
            "Coordinates are cell boundaries, not event positions.")
    data.sections.append(Section("Where: events per H3 cell", note, plot_h3_map(cells) if len(cells) else None,
                                 missing=None if len(cells) else "no located cells"))
    os_shares = _df(con, "SELECT coalesce(os_family, 'unknown') AS value, sum(events) events FROM aggregates "
                         "GROUP BY 1")
    devices = _df(con, "SELECT coalesce(device_class, 'unknown') AS value, sum(events) events FROM aggregates "
                       "GROUP BY 1")
    data.sections.append(Section("Operating systems and device classes", "\"generalized (*)\" is the share whose "
                                 "value was rolled up to reach k.", plot_shares(os_shares, devices)))


HTML_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1040px;margin:24px auto;padding:0 16px;
color:#1a202c;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin:1.6em 0 .3em;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;margin:.6em 0}td,th{padding:4px 12px;border-bottom:1px solid #e2e8f0;text-align:left}
th{font-weight:600;color:#4a5568}img{max-width:100%;height:auto;display:block}.note{color:#4a5568;margin:.2em 0 .6em}
.missing{color:#a0aec0;font-style:italic}footer{margin-top:2em;color:#718096;font-size:.85em}
"""


def render_html(data: ReportData, generated: dt.datetime) -> str:
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in data.summary.items())
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>anonpipe lake report</title>"
             f"<style>{HTML_STYLE}</style></head><body><h1>Telemetry report</h1>"
             f"<p class='note'>Built only from the anonymous zones (k-anonymous aggregates and window statistics). "
             f"All times are UTC.</p><table>{rows}</table>"]
    for section in data.sections:
        parts.append(f"<section><h2>{esc(section.title)}</h2>")
        if section.note:
            parts.append(f"<p class='note'>{esc(section.note)}</p>")
        if section.png:
            encoded = base64.b64encode(section.png).decode("ascii")
            parts.append(f"<img alt='{esc(section.title)}' src='data:image/png;base64,{encoded}'>")
        elif section.missing:
            parts.append(f"<p class='missing'>{esc(section.missing)}</p>")
        parts.append("</section>")
    parts.append(f"<footer>Generated {generated:%Y-%m-%d %H:%M} UTC by anonpipe report.</footer></body></html>")
    return "".join(parts)


def build_report(data_dir: str | os.PathLike, out: str | os.PathLike) -> ReportData:
    data = collect(data_dir)
    text = render_html(data, dt.datetime.now(dt.timezone.utc))
    write_atomic(Path(out), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), mode=0o644)
    return data
