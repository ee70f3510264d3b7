"""Prometheus metrics of the worker on a dedicated registry, the /metrics HTTP server, and batch timing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# A private registry: tests and embedding applications can import this module without
# colliding with metrics other libraries put on prometheus_client's global REGISTRY.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # RSS, CPU, open fds: what sizing decisions are based on
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

_NAMESPACE = "anonpipe"

# Label values must come from small fixed sets (stage names, DLQ reason codes, topic names),
# never from event content: every distinct value is a new time series.
EVENTS_IN = Counter(
    "events_in", "Events that entered a pipeline stage.", ["stage"],
    namespace=_NAMESPACE, registry=REGISTRY,
)
EVENTS_OUT = Counter(
    "events_out", "Events (or rows) a pipeline stage emitted downstream.", ["stage"],
    namespace=_NAMESPACE, registry=REGISTRY,
)
DLQ_EVENTS = Counter(
    "dlq_events", "Events sent to the dead-letter topic, by rejection reason code.", ["reason"],
    namespace=_NAMESPACE, registry=REGISTRY,
)
SUPPRESSED_EVENTS = Counter(
    "suppressed_events", "Events dropped because their k-anonymity cell stayed below k.",
    namespace=_NAMESPACE, registry=REGISTRY,
)
LATE_EVENTS = Counter(
    "late_events", "Events that arrived after their tumbling window had closed.",
    namespace=_NAMESPACE, registry=REGISTRY,
)
WINDOW_LAG_SECONDS = Gauge(
    "window_lag_seconds", "How far the event-time watermark trails the wall clock, in seconds.",
    namespace=_NAMESPACE, registry=REGISTRY,
)
# From ~1 ms (a tiny validation batch) to 30 s (a large Parquet flush to an object store).
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_SECONDS = Histogram(
    "batch_seconds", "Wall time spent processing one batch, by stage.", ["stage"],
    namespace=_NAMESPACE, registry=REGISTRY, buckets=BATCH_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "consumer_lag", "Messages between the committed offset and the high watermark.",
    ["topic", "partition"], namespace=_NAMESPACE, registry=REGISTRY,
)

_servers: dict[int, object] = {}
_servers_lock = threading.Lock()


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve REGISTRY at http://addr:port/metrics in a daemon thread; port 0 disables metrics."""
    if port == 0:
        return
    if not 0 < port < 65536:
        raise ValueError(f"metrics port must be 0 (disabled) or 1..65535, got {port}")
    with _servers_lock:
        if port in _servers:  # idempotent: a second call (e.g. worker restart in-process) is harmless
            return
        server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
        _servers[port] = server


def stop_metrics_servers() -> None:
    """Shut down every metrics server this process started (for clean shutdown and tests)."""
    with _servers_lock:
        for server in _servers.values():
            server.shutdown()
            server.server_close()
        _servers.clear()


@dataclass
class BatchObservation:
    """Counts a stage reports for one batch; set them inside the `observe_batch` block."""

    stage: str
    events_in: int = 0
    events_out: int = 0


@contextmanager
def observe_batch(stage: str, events_in: int = 0) -> Iterator[BatchObservation]:
    """Time one batch of `stage` into BATCH_SECONDS and add its in/out counts to EVENTS_IN/EVENTS_OUT.

    Duration and input count are recorded even if the block raises (the work was attempted);
    the output count only on success, so EVENTS_OUT never counts events that were not emitted.
    """
    observation = BatchObservation(stage=stage, events_in=events_in)
    started = time.perf_counter()
    try:
        yield observation
    finally:
        BATCH_SECONDS.labels(stage).observe(time.perf_counter() - started)
        if observation.events_in:
            EVENTS_IN.labels(stage).inc(observation.events_in)
    if observation.events_out:
        EVENTS_OUT.labels(stage).inc(observation.events_out)


def record_watermark(watermark_epoch_s: float, now: float | None = None) -> float:
    """Set WINDOW_LAG_SECONDS from an event-time watermark (epoch seconds); returns the lag set."""
    lag = max(0.0, (time.time() if now is None else now) - watermark_epoch_s)
    WINDOW_LAG_SECONDS.set(lag)
    return lag


class PipelineMetrics:
    """What the worker's agents call (record_ingest/_late/_release/_sink/_watermark), mapped onto the metrics above."""

    def record_ingest(self, events_in: int, events_out: int, rejects=()) -> None:
        """Validation + pseudonymization of one envelope batch; rejects carry a bounded `.code`."""
        EVENTS_IN.labels("ingest").inc(events_in)
        EVENTS_OUT.labels("ingest").inc(events_out)
        for reject in rejects:
            DLQ_EVENTS.labels(getattr(reject, "code", "unknown")).inc()

    def record_late(self, events: int) -> None:
        LATE_EVENTS.inc(events)

    def record_release(self, stats) -> None:
        """One released window: `stats` is the window-stats Arrow table (events, published_cells, suppressed_events)."""
        EVENTS_IN.labels("kanon").inc(sum(stats.column("events").to_pylist()))
        EVENTS_OUT.labels("kanon").inc(sum(stats.column("published_cells").to_pylist()))
        SUPPRESSED_EVENTS.inc(sum(stats.column("suppressed_events").to_pylist()))

    def record_sink(self, zone: str, rows: int) -> None:
        EVENTS_OUT.labels(f"sink_{zone}").inc(rows)

    def record_watermark(self, watermark_ms: int) -> None:
        record_watermark(watermark_ms / 1000)

    def time_batch(self, stage: str):
        """Context manager timing one batch of `stage` into BATCH_SECONDS."""
        return BATCH_SECONDS.labels(stage).time()

    def record_consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        CONSUMER_LAG.labels(topic, str(partition)).set(max(0, lag))


# The raw topic's incarnation (a token of its Kafka topic id): a deleted and re-created topic restarts its offsets,
# and events are told apart by incarnation. One series per incarnation seen; the current one is 1.
RAW_TOPIC_INCARNATION = Gauge(
    "raw_topic_incarnation", "1 for the raw topic incarnation this worker reads, 0 for earlier ones it saw.",
    ["incarnation"], namespace=_NAMESPACE, registry=REGISTRY,
)
INCARNATION_CHANGES = Counter(
    "raw_topic_incarnation_changes", "Times the raw topic was found re-created (a new topic id) since the last run.",
    namespace=_NAMESPACE, registry=REGISTRY,
)
