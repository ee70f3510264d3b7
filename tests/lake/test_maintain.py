"""Retention that runs by itself: the `anonpipe lake maintain` service deletes expired data with nobody typing a
command, and publishes the age of the oldest data per zone for the retention alert."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.lake.blocklist import BlockEntry, add_entries, load_entries
from pipeline.lake.layout import dlq_dir, zone_dir
from pipeline.lake.maintain import run_cycle
from pipeline.lake.retention import DEFAULT_RETENTION_DAYS

ROOT = Path(__file__).resolve().parents[2]


def _dlq_file(data_dir: Path, date: dt.date) -> Path:
    path = dlq_dir(data_dir) / f"date={date.isoformat()}" / "r000-0000000000000000001-p0.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"raw": "ip 203.0.113.5"}\n')
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_service_deletes_an_expired_dlq_file_without_any_command(tmp_path):
    data_dir = tmp_path / "data"
    policy = tmp_path / "policy.yaml"
    policy.write_text("retention: {dlq_days: 7, pseudonymized_days: 30}\n")
    today = dt.datetime.now(dt.timezone.utc).date()
    kept = _dlq_file(data_dir, today - dt.timedelta(days=7))
    port = _free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "lake", "maintain", "--data-dir", str(data_dir), "--policy",
         str(policy), "--interval", "0.3", "--metrics-port", str(port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Written while the service is already running: only a scheduled cycle can remove it.
        assert _wait(lambda: b"anonpipe_lake_retention_seconds" in _metrics(port))
        expired = _dlq_file(data_dir, today - dt.timedelta(days=8))
        assert _wait(lambda: not expired.exists()), "the expired DLQ partition is still there"
        assert kept.exists()
        metrics = _metrics(port).decode()
        assert 'anonpipe_lake_retention_seconds{zone="dlq"} 604800.0' in metrics
        age = next(float(line.split()[-1]) for line in metrics.splitlines()
                   if line.startswith('anonpipe_lake_oldest_data_age_seconds{zone="dlq"}'))
        assert 7 * 86400 <= age < 8 * 86400
    finally:
        service.send_signal(signal.SIGTERM)
        output = service.communicate(timeout=30)[0].decode()
    assert service.returncode == 0, output
    assert "203.0.113.5" not in output


def _metrics(port: int) -> bytes:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read()
    except OSError:
        return b""


def test_a_cycle_reports_ages_expires_the_blocklist_and_keeps_going_after_a_failed_step(data_dir, monkeypatch):
    now = dt.datetime(2025, 3, 20, 12, tzinfo=dt.timezone.utc)
    add_entries(data_dir, [BlockEntry("k1", "user_pseudonym", "a" * 16, "2025-03-01T00:00:00+00:00"),
                           BlockEntry("k2", "user_pseudonym", "b" * 16, "2025-04-01T00:00:00+00:00")])
    _dlq_file(data_dir, dt.date(2025, 3, 1))

    def broken(*_args, **_kwargs):
        raise RuntimeError("compaction broke")
    monkeypatch.setattr("pipeline.lake.maintain.compact_zone", broken)
    report = run_cycle(data_dir, dict(DEFAULT_RETENTION_DAYS), now=now)
    assert report.failed == ["compaction"]
    assert report.removed == {"pseudonymized": 4, "dlq": 1}  # lake dates are 2025-01-30..02-02: > 30 days old
    assert not any(zone_dir(data_dir, "pseudonymized").iterdir())
    assert report.blocklist_expired == 1 and [e.key_id for e in load_entries(data_dir)] == ["k2"]
    oldest_aggregate = (now - dt.datetime(2025, 1, 30, tzinfo=dt.timezone.utc)).total_seconds()
    assert report.oldest_age_seconds["aggregates"] == pytest.approx(oldest_aggregate)
    assert report.oldest_age_seconds["dlq"] == 0.0
