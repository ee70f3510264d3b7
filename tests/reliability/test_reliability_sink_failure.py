"""A lake that cannot be written to (full disk, unmounted volume) loses nothing: the sink holds its messages
unacknowledged, logs one line, and lands every event exactly once when writes work again."""

from __future__ import annotations

import shutil
import time

import pytest

from checks import read_zone
from harness import GENERATED_UNTIL, PipelineRun
from pipeline.demo import wait_for
from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration


def test_writes_failing_for_a_while_lose_and_duplicate_nothing(tmp_path, keyring_file):
    lines = list(TelemetryGenerator(seed=23, end=GENERATED_UNTIL, hours=3).lines(6000, 0.0))
    run = PipelineRun(tmp_path, keyring_file)
    try:
        run.start(workers=1)
        zone = run.data_dir / "lake" / "pseudonymized"
        wait_for(zone.is_dir, 60, "the worker to create the zone", proc=run.workers[0])
        # A file where the zone folder should be: every write below it fails (ENOTDIR), even for root.
        shutil.rmtree(zone)
        zone.write_bytes(b"not a folder")
        run.publish(lines)
        wait_for(lambda: "lake sink pseudonymized cannot write" in run.logs(), 60, "the sink to report the failure",
                 proc=run.workers[0])
        time.sleep(3)  # several retries while the input keeps arriving
        assert run.workers[0].poll() is None, "the worker must survive failing writes"
        zone.unlink()
        zone.mkdir()
        run.wait_landed(len(lines))
    finally:
        run.stop()
    logs = run.logs()
    assert logs.count("lake sink pseudonymized cannot write") == 1, "one line per failure episode, not per retry"
    assert "lake sink pseudonymized writes again after" in logs
    events = read_zone(run.data_dir, "pseudonymized")
    assert len(events) == len(lines) and events["event_id"].is_unique
