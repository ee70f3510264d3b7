"""Budget accounting: charges land in the lake ledger, and once the period's ε is spent nothing more goes out."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from dp_cases import background, small_config
from pipeline.dp.budget import BUDGET_SPENT, decide, period_of
from pipeline.dp.ledger import DP_REFUSED, BudgetLedger, budget_summary, read_ledger, spent_in
from pipeline.dp.release import release_dp, window_epsilon

HOUR = 3_600_000
DAY0 = int(dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc).timestamp() * 1000)


def release_day(ledger: BudgetLedger, config, windows: int, partition: int = 0) -> list[bool]:
    """Release `windows` hourly windows the way the stream does: decide, charge, then publish."""
    published = []
    columns, subjects = background()
    for hour in range(windows):
        window = DAY0 + hour * HOUR
        cost = window_epsilon(config)
        decision = ledger.decide(window, partition, cost, config.dp.epsilon_per_period)
        if not decision.allowed:
            ledger.refuse(f"w{window}-p{partition:03d}", window, partition, "dp", decision)
            published.append(False)
            continue
        release = release_dp(columns, subjects, config=config)
        ledger.charge(f"w{window}-p{partition:03d}", window, partition, "dp", release.spends)
        published.append(True)
    return published


def test_the_period_budget_stops_releases_with_a_log_line_a_metric_and_a_reason(tmp_path, caplog):
    config = small_config(epsilon=1.0).model_copy(update={"dp": small_config().dp.model_copy(
        update={"epsilon_per_period": 3.0})})
    ledger = BudgetLedger(tmp_path, config.dp.epsilon_per_period, "day", "test")
    refused_before = DP_REFUSED._value.get()
    with caplog.at_level(logging.WARNING, logger="pipeline.dp.ledger"):
        assert release_day(ledger, config, 5) == [True, True, True, False, False]
    assert DP_REFUSED._value.get() - refused_before == 2
    assert sum(BUDGET_SPENT in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING) == 1
    table = read_ledger(tmp_path, "2026-12-07").to_pylist()
    released = [r for r in table if r["status"] == "released"]
    assert {r["mechanism"] for r in released} == {"discrete_laplace"}
    assert {r["statistic"] for r in released} == {"events", "users", "cut_people"}
    assert all(r["scale"] > 0 for r in released)
    assert sum(r["epsilon"] for r in table) == pytest.approx(3.0)
    refused = [r for r in table if r["status"] == "refused"]
    assert len(refused) == 2 and all(BUDGET_SPENT in r["reason"] for r in refused)
    summary = budget_summary(tmp_path)
    assert [(p["period"], p["released"], p["refused"], p["reasons"]) for p in summary] == [
        ("2026-12-07", 3, 2, [BUDGET_SPENT])]
    assert summary[0]["epsilon"] == pytest.approx(3.0)


def test_spent_budget_survives_a_restart_and_the_next_period_starts_fresh(tmp_path):
    config = small_config(epsilon=1.0).model_copy(update={"dp": small_config().dp.model_copy(
        update={"epsilon_per_period": 2.0})})
    assert release_day(BudgetLedger(tmp_path, 2.0, "day", "t"), config, 1) == [True]
    restarted = BudgetLedger(tmp_path, 2.0, "day", "t")  # a new worker reads what the lake says was spent
    assert release_day(restarted, config, 2) == [True, False]
    assert spent_in(tmp_path, "2026-12-07") == pytest.approx(2.0)
    assert restarted.decide(DAY0 + 24 * HOUR, 0, 1.0, 2.0).allowed  # the next day


def test_periods_and_decisions():
    assert period_of(DAY0 + 23 * HOUR, "day") == "2026-12-07"
    assert period_of(DAY0, "month") == "2026-12"
    assert decide(0.5, 0.5, 1.0).allowed
    assert not decide(0.6, 0.5, 1.0).allowed
