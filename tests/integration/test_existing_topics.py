"""A worker routes by the partition counts the cluster really has, not by its --partitions flag (topics on a
real cluster are created by the deploy job, possibly with other counts)."""

from __future__ import annotations

import pytest

from checks import read_zone
from harness import GENERATED_UNTIL, PipelineRun
from pipeline.demo import start_worker
from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration


def test_worker_flag_differs_from_existing_topics(tmp_path, keyring_file):
    lines = list(TelemetryGenerator(seed=13, end=GENERATED_UNTIL, hours=3).lines(2500, 0.0))
    run = PipelineRun(tmp_path, keyring_file, partitions=3)  # the topics get 3 partitions
    try:
        run.start(workers=0)
        run.workers.append(start_worker(run.broker.bootstrap, run.data_dir, policy=run.policy,
                                        keyring=run.keyring, partitions=5))
        run.publish(lines)
        run.wait_landed(len(lines))
        run.close_windows()
    finally:
        run.stop()
    events = read_zone(run.data_dir, "pseudonymized")
    assert events["event_id"].is_unique and len(events) == len(lines)
    stats = read_zone(run.data_dir, "window_stats")
    assert set(stats["partition"]) <= {0, 1, 2}
    # Every (window, partition) of the landed events was released; counts under k people are withheld (issue 14).
    from pipeline.demo import windows_released
    assert windows_released(run.data_dir, partitions=3)
    assert int(stats.loc[stats["kind"] == "window", "events"].sum()) <= len(lines)
