"""Issue 5 acceptance: the sink is killed mid-flush (temp file written, not yet renamed); after a restart the
lake holds every event exactly once."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest

from checks import read_zone
from harness import GENERATED_UNTIL, PipelineRun
from pipeline.demo import start_worker, wait_for
from pipeline.generate import TelemetryGenerator
from pipeline.processes import stop_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a kill test (~29 s): `make test-slow`


def test_kill_mid_flush_then_restart_lands_every_event_once(tmp_path, keyring_file):
    lines = list(TelemetryGenerator(seed=5, end=GENERATED_UNTIL, hours=3).lines(5000, 0.0))
    run = PipelineRun(tmp_path, keyring_file)
    crashing = None
    try:
        run.start(workers=0)
        crashing = start_worker(run.broker.bootstrap, run.data_dir, policy=run.policy, keyring=run.keyring,
                                worker_id="crash",
                                extra_env={"ANONPIPE_FAILPOINT": "lake.pseudonymized.before_rename:2"})
        # Two flushes: the first lands, the second dies between fsync and rename.
        run.publish(lines[:2500])
        wait_for(lambda: list((run.data_dir / "lake" / "pseudonymized").rglob("*.parquet")), 90,
                 "the first lake file", proc=crashing)
        run.publish(lines[2500:])
        wait_for(lambda: crashing.poll() is not None, 90, "the failpoint to kill the worker")
        assert crashing.returncode == -9
        temp_files = list(run.data_dir.rglob(".*.tmp"))
        assert temp_files, "the crash should leave the half-written file behind"
        # readers never see the half-written file (hidden name) and the lake is not complete yet
        events = ds.dataset(run.data_dir / "lake" / "pseudonymized", partitioning="hive").to_table()
        assert events.num_rows < len(lines)
        run.add_worker("after-crash")
        run.wait_landed(len(lines))
    finally:
        stop_process(crashing)  # still running if the failpoint never fired
        run.stop()
    events = read_zone(run.data_dir, "pseudonymized")
    assert events["event_id"].is_unique and len(events) == len(lines)
