"""Metrics tests: scrape the real /metrics endpoint over loopback HTTP and parse the exposition text."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.observability import metrics as m


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scrape():
    """Start the metrics server on a free loopback port; yield a function returning {(name, labels): value}."""
    port = _free_port()
    m.start_metrics_server(port, addr="127.0.0.1")

    def _scrape() -> dict[tuple[str, tuple], float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    yield _scrape
    m.stop_metrics_servers()


def _stage() -> str:
    """A label value unique to one test, so counts from other tests cannot leak into assertions."""
    return f"test-{uuid.uuid4().hex[:8]}"


def test_scrape_exposes_every_pipeline_metric_with_anonpipe_prefix(scrape):
    stage, reason = _stage(), _stage()
    m.EVENTS_IN.labels(stage).inc(3)
    m.EVENTS_OUT.labels(stage).inc(2)
    m.DLQ_EVENTS.labels(reason).inc()
    m.SUPPRESSED_EVENTS.inc(5)
    m.LATE_EVENTS.inc(7)
    m.CONSUMER_LAG.labels("telemetry.raw", "3").set(42)
    samples = scrape()
    assert samples[("anonpipe_events_in_total", (("stage", stage),))] == 3
    assert samples[("anonpipe_events_out_total", (("stage", stage),))] == 2
    assert samples[("anonpipe_dlq_events_total", (("reason", reason),))] == 1
    assert samples[("anonpipe_suppressed_events_total", ())] >= 5
    assert samples[("anonpipe_late_events_total", ())] >= 7
    assert samples[("anonpipe_consumer_lag", (("partition", "3"), ("topic", "telemetry.raw")))] == 42
    assert ("anonpipe_window_lag_seconds", ()) in samples
    # Process metrics are what sizing uses; they must be on the private registry too (Linux only).
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)


def test_observe_batch_times_and_counts_a_successful_batch(scrape):
    stage = _stage()
    with m.observe_batch(stage, events_in=10) as batch:
        time.sleep(0.02)
        batch.events_out = 8
    samples = scrape()
    labels = (("stage", stage),)
    assert samples[("anonpipe_events_in_total", labels)] == 10
    assert samples[("anonpipe_events_out_total", labels)] == 8
    assert samples[("anonpipe_batch_seconds_count", labels)] == 1
    assert 0.02 <= samples[("anonpipe_batch_seconds_sum", labels)] < 5
    # 20 ms lands above the 10 ms bucket and inside the 25 ms one... or later if the machine is slow.
    assert samples[("anonpipe_batch_seconds_bucket", (("le", "0.01"), ("stage", stage)))] == 0
    assert samples[("anonpipe_batch_seconds_bucket", (("le", "+Inf"), ("stage", stage)))] == 1


def test_observe_batch_on_failure_records_time_and_input_but_no_output(scrape):
    stage = _stage()
    with pytest.raises(RuntimeError):
        with m.observe_batch(stage) as batch:
            batch.events_in = 4
            batch.events_out = 4
            raise RuntimeError("sink failed")
    samples = scrape()
    labels = (("stage", stage),)
    assert samples[("anonpipe_events_in_total", labels)] == 4
    assert ("anonpipe_events_out_total", labels) not in samples
    assert samples[("anonpipe_batch_seconds_count", labels)] == 1


def test_record_watermark_sets_lag_and_never_goes_negative(scrape):
    assert m.record_watermark(1_000.0, now=1_090.5) == 90.5
    assert scrape()[("anonpipe_window_lag_seconds", ())] == 90.5
    assert m.record_watermark(2_000.0, now=1_000.0) == 0.0  # watermark ahead of a skewed clock
    assert scrape()[("anonpipe_window_lag_seconds", ())] == 0.0


def test_registry_is_private_not_the_global_default():
    stage = _stage()
    m.EVENTS_IN.labels(stage).inc()
    assert prometheus_client.REGISTRY.get_sample_value("anonpipe_events_in_total", {"stage": stage}) is None
    assert m.REGISTRY.get_sample_value("anonpipe_events_in_total", {"stage": stage}) == 1


def test_start_twice_on_same_port_is_harmless(scrape):
    port = _free_port()
    m.start_metrics_server(port, addr="127.0.0.1")
    m.start_metrics_server(port, addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert b"anonpipe_events_in_total" in response.read()


def test_port_zero_disables_and_bad_ports_are_rejected():
    before = set(m._servers)
    m.start_metrics_server(0)
    assert set(m._servers) == before
    for bad in (-1, 65536):
        with pytest.raises(ValueError):
            m.start_metrics_server(bad)


def test_batch_buckets_are_sorted_and_span_milliseconds_to_tens_of_seconds():
    assert list(m.BATCH_BUCKETS) == sorted(m.BATCH_BUCKETS)
    assert m.BATCH_BUCKETS[0] <= 0.001 and m.BATCH_BUCKETS[-1] >= 10


def test_pipeline_metrics_adapter_feeds_the_scraped_counters(scrape):
    import pyarrow as pa

    from pipeline.common.rejects import Reject

    before = scrape()

    def delta(name, labels=()):
        key = (name, tuple(sorted(labels)))
        return scrape()[key] - before.get(key, 0.0)

    adapter = m.PipelineMetrics()
    adapter.record_ingest(100, 97, [Reject("schema_violation", "missing field", b"{}"),
                                    Reject("schema_violation", "bad type", b"{}"),
                                    Reject("invalid_ip", "not an IP", b"{}")])
    adapter.record_late(4)
    adapter.record_release(pa.table({"events": [50, 30], "published_cells": [6, 2], "suppressed_events": [3, 1]}))
    adapter.record_sink("aggregates", 8)
    adapter.record_watermark(1_000)  # epoch ms 1000: decades behind now
    assert delta("anonpipe_events_in_total", [("stage", "ingest")]) == 100
    assert delta("anonpipe_events_out_total", [("stage", "ingest")]) == 97
    assert delta("anonpipe_dlq_events_total", [("reason", "schema_violation")]) == 2
    assert delta("anonpipe_dlq_events_total", [("reason", "invalid_ip")]) == 1
    assert delta("anonpipe_late_events_total") == 4
    assert delta("anonpipe_events_in_total", [("stage", "kanon")]) == 80
    assert delta("anonpipe_events_out_total", [("stage", "kanon")]) == 8
    assert delta("anonpipe_suppressed_events_total") == 4
    assert delta("anonpipe_events_out_total", [("stage", "sink_aggregates")]) == 8
    assert scrape()[("anonpipe_window_lag_seconds", ())] > 1e9
