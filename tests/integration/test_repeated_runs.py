"""Issue 15: a new topic is not an old one. A second demo into the same data dir (a fresh broker: offsets start at 0
again) and a re-created raw topic land every one of their events instead of being taken for replays."""

from __future__ import annotations

import time

import pytest
from checks import read_zone
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from pipeline.demo import run_demo, stop_process
from pipeline.lake.counts import PSEUDONYMIZED, dlq_rows, zone_rows
from pipeline.settings import TOPIC_RAW

pytestmark = pytest.mark.integration
EVENTS = 800


def test_a_second_demo_into_the_same_data_dir_lands_all_its_events(tmp_path):
    first = run_demo(tmp_path, events=EVENTS, malformed=0.0, timeout=150)
    assert first.pseudonymized_rows == EVENTS
    second = run_demo(tmp_path, events=EVENTS, malformed=0.0, timeout=150)
    # the same generated events again (same seed), from a new broker: new events, not replays of the first run's
    assert second.pseudonymized_rows == EVENTS and second.files_written > 0
    assert zone_rows(tmp_path, PSEUDONYMIZED) == 2 * EVENTS
    assert "the raw topic is a new incarnation" in (tmp_path / "logs" / "worker-w1.log").read_text()


def test_a_recreated_raw_topic_lands_all_its_events(pipeline_run):
    from harness import GENERATED_UNTIL

    from pipeline.generate import TelemetryGenerator
    run = pipeline_run().start(workers=1)
    lines = list(TelemetryGenerator(5, end=GENERATED_UNTIL, hours=3).lines(EVENTS))
    run.publish(lines)
    run.wait_landed(EVENTS)
    for proc in run.workers:
        stop_process(proc)
    admin = KafkaAdminClient(bootstrap_servers=run.broker.bootstrap)
    try:
        admin.delete_topics([TOPIC_RAW])
        time.sleep(1)
        admin.create_topics([NewTopic(TOPIC_RAW, run.partitions, 1)])
    finally:
        admin.close()
    run.add_worker("w2")
    more = list(TelemetryGenerator(6, end=GENERATED_UNTIL, hours=3).lines(2 * EVENTS))  # past the old offsets
    run.publish(more)
    run.wait_landed(3 * EVENTS)
    events = read_zone(run.data_dir, "pseudonymized")
    assert len(events) == 3 * EVENTS and dlq_rows(run.data_dir) == 0
    assert "the raw topic is a new incarnation" in run.logs()
