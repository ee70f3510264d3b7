"""Retention: which partitions go, policy parsing, dry run, CLI output."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.lake.cli import lake_group
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, WINDOW_STATS, dlq_dir, zone_dir
from pipeline.lake.retention import (DEFAULT_RETENTION_DAYS, DLQ, RetentionError, apply_retention, load_retention)

TODAY = dt.date(2025, 6, 30)


def _make_partitions(data_dir, ages_days: list[int]) -> None:
    """A small file in every zone for each age (days before TODAY), plus a folder that is not a partition."""
    for age in ages_days:
        day = (TODAY - dt.timedelta(days=age)).isoformat()
        for zone in (PSEUDONYMIZED, AGGREGATES, WINDOW_STATS):
            part = zone_dir(data_dir, zone) / f"event_date={day}"
            part.mkdir(parents=True, exist_ok=True)
            (part / "b.parquet").write_bytes(b"x" * 10)
        part = dlq_dir(data_dir) / f"date={day}"
        part.mkdir(parents=True, exist_ok=True)
        (part / "b.ndjson").write_bytes(b"{}\n")
    (zone_dir(data_dir, PSEUDONYMIZED) / "event_date=not-a-date").mkdir(parents=True, exist_ok=True)


def _remaining_ages(data_dir, zone) -> list[int]:
    root = dlq_dir(data_dir) if zone == DLQ else zone_dir(data_dir, zone)
    ages = []
    for part in root.iterdir():
        try:
            ages.append((TODAY - dt.date.fromisoformat(part.name.split("=", 1)[1])).days)
        except ValueError:
            continue
    return sorted(ages)


AGES = [0, 6, 7, 8, 29, 30, 31, 400, 729, 730, 731, 1000]


def test_each_zone_keeps_today_and_its_retention_days(tmp_path):
    _make_partitions(tmp_path, AGES)
    removed = apply_retention(tmp_path, dict(DEFAULT_RETENTION_DAYS), TODAY)

    assert _remaining_ages(tmp_path, PSEUDONYMIZED) == [0, 6, 7, 8, 29, 30]
    assert _remaining_ages(tmp_path, AGGREGATES) == [0, 6, 7, 8, 29, 30, 31, 400, 729, 730]
    assert _remaining_ages(tmp_path, WINDOW_STATS) == [0, 6, 7, 8, 29, 30, 31, 400, 729, 730]
    assert _remaining_ages(tmp_path, DLQ) == [0, 6, 7]
    assert len(removed) == 6 + 2 + 2 + 9
    assert (zone_dir(tmp_path, PSEUDONYMIZED) / "event_date=not-a-date").is_dir()


def test_dry_run_deletes_nothing(tmp_path):
    _make_partitions(tmp_path, AGES)
    would = apply_retention(tmp_path, dict(DEFAULT_RETENTION_DAYS), TODAY, dry_run=True)
    assert would and all(p.path.is_dir() for p in would)
    assert _remaining_ages(tmp_path, DLQ) == AGES


def test_policy_retention_overrides_defaults(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: x\nretention:\n  raw_topic_hours: 24\n  pseudonymized_days: 7\n  dlq_days: 1\n")
    days = load_retention(policy)
    assert days == {PSEUDONYMIZED: 7, AGGREGATES: 730, WINDOW_STATS: 730, PEOPLE: 730, DLQ: 1}
    policy.write_text("version: x\n")
    assert load_retention(policy) == DEFAULT_RETENTION_DAYS


@pytest.mark.parametrize("body, message", [
    ("retention:\n  pseudonymised_days: 7\n", "unknown retention key 'pseudonymised_days'"),
    ("retention:\n  dlq_days: -1\n", "positive whole number"),
    ("retention:\n  dlq_days: seven\n", "positive whole number"),
    ("retention: [1, 2]\n", "must be a mapping"),
    ("retention: {dlq_days: 7\n", "not readable YAML"),
])
def test_bad_policy_is_a_clear_error(tmp_path, body, message):
    policy = tmp_path / "policy.yaml"
    policy.write_text(body)
    with pytest.raises(RetentionError, match=message):
        load_retention(policy)


def test_cli_prints_what_it_removed(tmp_path, run):
    _make_partitions(tmp_path, [0, 8])
    old = (TODAY - dt.timedelta(days=8)).isoformat()
    dry = run(lake_group, ["retention", "--data-dir", tmp_path, "--today", TODAY.isoformat(), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove dlq/date={old}" in dry.output
    assert (dlq_dir(tmp_path) / f"date={old}").is_dir()

    done = run(lake_group, ["retention", "--data-dir", tmp_path, "--today", TODAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert f"removed dlq/date={old} (1 files, 3 bytes; keep 7 days)" in done.output
    assert "removed 1 partition(s) as of 2025-06-30" in done.output
    assert not (dlq_dir(tmp_path) / f"date={old}").exists()


def test_cli_bad_inputs_are_one_line_errors(tmp_path, run):
    missing = run(lake_group, ["retention", "--data-dir", tmp_path / "nope"])
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and "does not exist" in missing.output
    policy = tmp_path / "p.yaml"
    policy.write_text("retention:\n  dlq_days: 0\n")
    bad = run(lake_group, ["retention", "--data-dir", tmp_path, "--policy", policy])
    assert bad.exit_code == 1 and bad.output.startswith("Error: ") and bad.output.count("\n") == 1
    no_policy = run(lake_group, ["retention", "--data-dir", tmp_path, "--policy", tmp_path / "absent.yaml"])
    assert no_policy.exit_code == 1 and "does not exist" in no_policy.output
