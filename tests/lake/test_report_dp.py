"""The report over a lake with DP releases: every noisy number shows its ± (95 %), the page says the numbers are
noisy, noisy rows are not added to exact ones, and the budget ledger (ε spent, refusals and why) is on the page.

The lake is written the way the stream writes it (pipeline.dp.stream.release_window: ledger charge or refusal,
then the aggregate rows through the lake writer); the expected sums are computed here from the parquet files.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.dp.ledger import BudgetLedger
from pipeline.dp.stream import release_window
from pipeline.kanon.core import CellState
from pipeline.lake.layout import AGGREGATES, zone_dir
from pipeline.lake.report import build_report
from pipeline.lake.writer import write_batch
from pipeline.policy.loader import load_policy

from .browser import dump_dom, screenshot

HOUR = 3_600_000
DAY = dt.datetime(2026, 12, 7, 4, tzinfo=dt.timezone.utc)  # 10:00 in Almaty: the windows stay on one local day
TYPES = ["app_open", "search", "appeal_submit"]


def dp_policy(epsilon_per_period: float):
    policy = load_policy().policy
    dp = policy.kanon.dp.model_copy(update={"epsilon_per_period": epsilon_per_period})
    return policy.model_copy(update={"kanon": policy.kanon.model_copy(update={"release": "dp", "dp": dp})})


def window_cells(rng, people: int = 40) -> dict:
    """One window's kanon state: cells (event type, then the cell attributes) → per-identity event counts."""
    cells: dict = {}
    for person in range(people):
        cell = (str(rng.choice(TYPES)), "*", "*", str(rng.choice(["phone", "tablet"])),
                str(rng.choice(["Android", "iOS"])), "*", "*", "*")
        state = cells.setdefault(cell, CellState())
        state.counts = (state.counts or {}) | {(f"u{person}",): int(rng.integers(1, 6))}
        state.subjects.add((f"u{person}",))
    return cells


def build_dp_lake(data_dir, windows: int, epsilon_per_period: float) -> tuple[object, list[str]]:
    policy = dp_policy(epsilon_per_period)
    config = policy.kanon
    ledger = BudgetLedger(data_dir, config.dp.epsilon_per_period, config.dp.period, "test")
    rng = np.random.default_rng(3)
    refusals = []
    start = int(DAY.timestamp() * 1000)
    for hour in range(windows):
        window = start + hour * HOUR
        for partition in range(4):
            released = release_window(window, window_cells(rng), config, "test", partition, 4, ledger)
            if released.aggregates is None:
                refusals.append(released.refused_reason)
                continue
            write_batch(data_dir, AGGREGATES, released.aggregates, f"w{window}-p{partition}")
    return policy, refusals


@pytest.fixture(scope="module")
def dp_report(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("dp-lake")
    # 1 ε per window and 2 per day: two windows go out, the third is refused by every releasing partition
    policy, refusals = build_dp_lake(data_dir, 3, 2.0)
    assert refusals and all("budget spent" in r for r in refusals if r.startswith("period"))
    pages = {}
    for lang in ("en", "ru", "kk"):
        out = data_dir.parent / f"dp-report-{lang}.html"
        build_report(data_dir, out, policy, lang=lang)
        pages[lang] = out
    return data_dir, pages


def published(data_dir) -> pa.Table:
    files = sorted(zone_dir(data_dir, AGGREGATES).rglob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files)


def test_every_noisy_sum_shows_its_95_percent_interval_next_to_the_value(dp_report, tmp_path):
    data_dir, pages = dp_report
    rows = published(data_dir)
    assert set(rows.column("release").to_pylist()) == {"dp"}
    dom = dump_dom(pages["en"], "", tmp_path / "profile")
    section = re.search(r"<section id=\"dp\".*?</section>", dom, re.S)
    assert section, "no DP section on the page"
    text = re.sub(r"<[^>]+>", " ", section.group(0))
    assert "differentially private" in text and "noise" in text
    subtitle = re.search(r"<p class=\"sub\">(.*?)</p>", dom).group(1)  # "at least k people" is untrue of noise
    assert "Differentially private data only" in subtitle and "at least k" not in subtitle
    for value in TYPES:
        mine = rows.filter(pc.equal(rows.column("event_type"), value))
        events = pc.sum(mine.column("events")).as_py()
        ci = math.ceil(math.sqrt(sum(c * c for c in mine.column("events_ci95").to_pylist())))
        users = pc.sum(mine.column("users")).as_py()
        users_ci = math.ceil(math.sqrt(sum(c * c for c in mine.column("users_ci95").to_pylist())))
        row = re.search(rf"<tr><th>2026-12-07</th><th>{value}</th>(.*?)</tr>", section.group(0), re.S)
        assert row, value
        cells = [re.sub(r"<[^>]+>", "", c).replace("\u2009", "").replace(",", "").replace("\xa0", "")
                 for c in re.findall(r"<td>(.*?)</td>", row.group(1))]
        assert cells[:2] == [f"{events} ±{ci}", f"{users} ±{users_ci}"]


def test_the_budget_its_spending_and_the_refusals_are_stated(dp_report, tmp_path):
    _, pages = dp_report
    dom = dump_dom(pages["en"], "", tmp_path / "profile")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    assert re.search(r"2026-12-07 2(\.0+)? \d+ [1-9]\d* ", text), "period row: ε spent, releases, refusals"
    assert "nothing more is published for this period because the budget is spent" in text
    ru = dump_dom(pages["ru"], "", tmp_path / "profile-ru")
    assert "дифференциальн" in ru and "бюджет" in ru
    kk = dump_dom(pages["kk"], "", tmp_path / "profile-kk")
    assert "±" in kk and "бюджет" in kk.lower()
    shot = screenshot(pages["en"], "dp", tmp_path / "dp.png", tmp_path / "profile-shot", height=2000)
    assert shot.stat().st_size > 0


def test_noisy_rows_are_not_added_to_exact_ones(tmp_path):
    from pipeline.lake.report_data import collect
    policy, _ = build_dp_lake(tmp_path, 1, 24.0)
    noisy = published(tmp_path)
    # an exact k-anonymous row of the same hour next to the noisy ones (what a lake holds after a mode change)
    exact = noisy.slice(0, 1)
    exact = exact.set_column(exact.schema.get_field_index("release"), "release", pa.array(["k_anonymity"]))
    events_type = exact.schema.field("events").type
    exact = exact.set_column(exact.schema.get_field_index("events"), "events", pa.array([7], events_type))
    for name in ("events_ci95", "users_ci95"):
        exact = exact.set_column(exact.schema.get_field_index(name), name, pa.nulls(1, pa.int64()))
    write_batch(tmp_path, AGGREGATES, exact.append_column("event_date", pa.array(["2026-12-07"])), "exact")
    data = collect(tmp_path, policy)
    assert data.charts_release == "mixed"
    assert sum(row[-1] for row in data.cube) == 7  # the charts: exact rows only
    assert sum(r["events"] for r in data.dp_rows) == pc.sum(noisy.column("events")).as_py()
