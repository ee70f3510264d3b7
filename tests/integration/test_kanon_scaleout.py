"""Issue 4 and 9 acceptance: several workers in one group, and a worker killed mid-window, give the same aggregates."""

from __future__ import annotations

import os
import signal

import pytest

from checks import read_zone
from harness import GENERATED_UNTIL, PipelineRun, make_keyring
from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration
AGGREGATE_KEY = ["window_start", "event_type", "geo_h3", "app_major", "device_class", "os_family",
                 "geo_h3_level", "app_major_level", "device_class_level", "os_family_level"]


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaleout")
    keyring = root / "keyring.json"
    make_keyring(keyring)
    lines = list(TelemetryGenerator(seed=23, end=GENERATED_UNTIL, hours=5).lines(6000, 0.0))
    return root, keyring, lines


def comparable(run: PipelineRun):
    frame = read_zone(run.data_dir, "aggregates")[AGGREGATE_KEY + ["events", "users"]]
    return frame.sort_values(AGGREGATE_KEY).reset_index(drop=True)


def finish(run: PipelineRun, total: int) -> None:
    run.wait_landed(total, timeout=150)
    run.close_windows(timeout=120)


def assert_exactly_once(run: PipelineRun, lines: list[bytes]) -> None:
    events = read_zone(run.data_dir, "pseudonymized")
    assert events["event_id"].is_unique
    assert len(events) == len(lines)


def uninterrupted(workload, name: str, workers: int):
    """Aggregates of a run with `workers` workers that nothing disturbs (checked exactly-once first)."""
    root, keyring, lines = workload
    run = PipelineRun(root / name, keyring).start(workers=workers)
    try:
        run.publish(lines)
        finish(run, len(lines))
    finally:
        run.stop()
    assert_exactly_once(run, lines)
    return comparable(run)


@pytest.fixture(scope="module")
def baseline(workload):
    return uninterrupted(workload, "one", workers=1)


def test_two_workers_give_the_same_aggregates_as_one(workload, baseline):
    assert len(baseline) > 0
    assert uninterrupted(workload, "two", workers=2).equals(baseline)


def test_ingest_and_aggregation_in_separate_workers_give_the_same_aggregates(workload, baseline):
    # A split deployment: the CPU-heavy ingest stage in its own consumer group, k-anonymity and the lake in another.
    root, keyring, lines = workload
    run = PipelineRun(root / "split", keyring).start(workers=0)
    run.add_worker("ingest", ("--stages", "ingest"))
    run.add_worker("aggregate", ("--stages", "kanon,lake"))
    try:
        run.publish(lines)
        finish(run, len(lines))
        assert all(w.poll() is None for w in run.workers), "a worker exited: see data/logs"
    finally:
        run.stop()
    assert_exactly_once(run, lines)
    assert comparable(run).equals(baseline)
    logs = run.logs()
    assert "stages ingest (consumer group anonpipe-ingest)" in logs
    assert "stages kanon,lake (consumer group anonpipe)" in logs


def interrupted(workload, name: str, workers: int, split: int, restart: bool):
    """A run whose last worker is killed -9 (no flush, no commit) after part of the input landed."""
    root, keyring, lines = workload
    run = PipelineRun(root / name, keyring).start(workers=workers)
    try:
        cut = len(lines) // split
        run.publish(lines[:cut])
        run.wait_landed(cut // 2, timeout=120)
        victim = run.workers[-1]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        if restart:
            run.add_worker("restarted")
        run.publish(lines[cut:])
        finish(run, len(lines))
        # The others must have taken over, not died too (a crashed survivor can go unnoticed: the rest take over).
        assert all(w.poll() is None for w in run.workers if w is not victim), "a surviving worker exited: see data/logs"
    finally:
        run.stop()
    assert_exactly_once(run, lines)
    return comparable(run)


@pytest.mark.slow  # a kill test (~36 s): `make test-slow`, keeping CI under 15 minutes
def test_worker_killed_mid_window_then_restarted_gives_the_same_aggregates(workload, baseline):
    assert interrupted(workload, "restart", workers=1, split=2, restart=True).equals(baseline)


@pytest.mark.slow  # a kill test (~36 s): `make test-slow`, keeping CI under 15 minutes
def test_three_workers_one_killed_mid_run_land_everything_once(workload, baseline):
    assert interrupted(workload, "three", workers=3, split=3, restart=False).equals(baseline)
