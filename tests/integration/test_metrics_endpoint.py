"""Issue 9: the worker's Prometheus endpoint reports events per stage, DLQ reasons and batch latency."""

from __future__ import annotations

import time
import urllib.request

import pytest

from harness import GENERATED_UNTIL, PipelineRun
from pipeline.broker import free_port
from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_follow_the_work(tmp_path, keyring_file):
    lines = list(TelemetryGenerator(seed=3, end=GENERATED_UNTIL, hours=2).lines(1500, 0.05))
    run = PipelineRun(tmp_path, keyring_file)
    port = free_port()
    try:
        run.start(workers=0)
        run.add_worker("m1", extra_args=("--metrics-port", str(port), "--log-format", "json"))
        run.publish(lines)
        run.wait_landed(len(lines))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            samples = scrape(port)
            lag_reported = any(k.startswith("anonpipe_consumer_lag") for k in samples)
            if samples.get('anonpipe_events_in_total{stage="ingest"}', 0) >= len(lines) and lag_reported:
                break
            time.sleep(0.5)
    finally:
        run.stop()
    assert samples['anonpipe_events_in_total{stage="ingest"}'] == len(lines)
    dlq = sum(v for k, v in samples.items() if k.startswith("anonpipe_dlq_events_total"))
    assert dlq > 0 and samples['anonpipe_events_out_total{stage="ingest"}'] + dlq == len(lines)
    assert samples['anonpipe_batch_seconds_count{stage="ingest"}'] > 0
    assert any(k.startswith("anonpipe_consumer_lag") for k in samples)
    log_lines = [l for l in run.logs().splitlines() if l.startswith("{")]
    assert log_lines, "JSON log lines expected with --log-format json"
