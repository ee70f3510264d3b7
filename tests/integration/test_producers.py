"""docs/producers.md: its confluent-kafka and kafka-python snippets, run as written against the embedded broker,
land every event once; Kafka keys and headers never reach the lake or the DLQ."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Producer
from checks import producer_snippet, read_dlq, read_zone, scan_for
from harness import GENERATED_UNTIL

from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration
EVENTS = 1200
MARKER = "kafka-key-canary-7f3e"


def test_documented_producers_land_every_event_and_keys_and_headers_stay_out(pipeline_run):
    run = pipeline_run().start(workers=1)
    events = [orjson.loads(line) for line in TelemetryGenerator(9, end=GENERATED_UNTIL, hours=2).lines(EVENTS)]
    try:
        producer_snippet("confluent-kafka")(run.broker.bootstrap, events[: EVENTS // 2])
        producer_snippet("kafka-python")(run.broker.bootstrap, events[EVENTS // 2:])
        # one more message, its key and headers a canary
        canary = Producer({"bootstrap.servers": run.broker.bootstrap, "enable.idempotence": False})
        extra = dict(events[0], event_id="0" * 32)
        canary.produce("telemetry.raw", key=MARKER.encode(), value=orjson.dumps(extra),
                       headers={"x-canary": MARKER, "authorization": f"Bearer {MARKER}"})
        assert canary.flush(30) == 0
        run.wait_landed(EVENTS + 1)
    finally:
        run.stop()
    lake = read_zone(run.data_dir, "pseudonymized")
    assert len(lake) == EVENTS + 1 and lake["event_id"].is_unique
    assert not (run.data_dir / "dlq").exists() or read_dlq(run.data_dir) == []
    assert set(lake["event_id"]) == {e["event_id"] for e in events} | {"0" * 32}
    assert scan_for(run.data_dir, {MARKER}, skip=("logs",)) == []
