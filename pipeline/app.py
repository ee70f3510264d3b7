"""faust app and topic wiring only: which agent reads which topic; the stages' logic lives in their cores."""

from __future__ import annotations

import logging
import os
import signal
import ssl
import threading
from dataclasses import dataclass

import faust

from pipeline.keys.ring import KeyRing
from pipeline.lake.blocklist import ErasedSubjects
from pipeline.policy.loader import CompiledPolicy
from pipeline.settings import (TOPIC_AGGREGATES, TOPIC_DLQ, TOPIC_PSEUDONYMIZED, TOPIC_RAW, TOPIC_WINDOW_STATS,
                               KafkaSettings, WorkerSettings, app_id_for)

log = logging.getLogger(__name__)


@dataclass
class Topics:
    raw: faust.TopicT
    dlq: faust.TopicT
    pseudonymized: faust.TopicT
    aggregates: faust.TopicT
    window_stats: faust.TopicT


def broker_credentials(kafka: KafkaSettings):
    if kafka.security_protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(cafile=kafka.ssl_cafile) if "SSL" in kafka.security_protocol else None
    if kafka.security_protocol.startswith("SASL"):
        mechanism = (kafka.sasl_mechanism or "PLAIN").upper()
        if mechanism.startswith("SCRAM"):
            return faust.SASLCredentials(username=kafka.sasl_username, password=kafka.sasl_password,
                                         mechanism=mechanism, ssl_context=context)
        return faust.SASLCredentials(username=kafka.sasl_username, password=kafka.sasl_password, ssl_context=context)
    return faust.SSLCredentials(context)


MAX_POLL_RECORDS = 2


def create_app(settings: WorkerSettings, policy: CompiledPolicy, ring: KeyRing, metrics=None) -> faust.App:
    kafka = settings.kafka
    faust_dir = settings.data_dir / "faust" / settings.worker_id
    faust_dir.mkdir(parents=True, exist_ok=True)
    options = dict(
        broker=",".join(f"kafka://{server.strip()}" for server in kafka.bootstrap.split(",")),
        broker_credentials=broker_credentials(kafka),
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        # Short session/heartbeat: the first group join otherwise takes ~30 s (and failover is faster too).
        broker_session_timeout=6.0,
        broker_heartbeat_interval=2.0,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # Records handed from the fetcher to the agents per poll. Each carries an envelope of many events, so a
        # few keep the agents busy; unbounded, the fetcher moves the whole prefetch into the agents' queues at
        # once. Measured (benchmarks/pseudonymize.py, 200k events): ingest-only worker 53k → 58k ev/s and peak
        # RSS 351 → 314 MB; all stages 31k → 43k ev/s (with the system memory pool, worker.py).
        broker_max_poll_records=MAX_POLL_RECORDS,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_host="127.0.0.1" if kafka.embedded else "0.0.0.0",
        datadir=str(faust_dir),
    )
    if kafka.embedded:
        # Tansu: ListOffsets(latest) can under-report the end offset, which ends changelog recovery early;
        # one record per produce batch avoids it. Real Kafka does not need this (see docs/tansu.md).
        options["producer_max_batch_size"] = 1
    app = faust.App(app_id_for(settings.stages), **options)
    # faust drops records of newly assigned partitions at the end of a rebalance (issue 9): see pipeline/rebalance.py.
    from pipeline.rebalance import keep_records_across_recovery
    keep_records_across_recovery(app)
    topics = Topics(
        raw=app.topic(TOPIC_RAW, value_type=bytes, key_type=bytes, partitions=kafka.raw_partitions or kafka.partitions),
        dlq=app.topic(TOPIC_DLQ, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
        pseudonymized=app.topic(TOPIC_PSEUDONYMIZED, value_type=bytes, key_type=bytes,
                                partitions=kafka.stage_partitions or kafka.partitions),
        aggregates=app.topic(TOPIC_AGGREGATES, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
        window_stats=app.topic(TOPIC_WINDOW_STATS, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
    )
    from pipeline.kanon import agent as kanon_agent
    from pipeline.lake import sink
    from pipeline.pseudonymize import agent as ingest_agent

    stage_partitions = kafka.stage_partitions or kafka.partitions
    if "ingest" in settings.stages:
        ingest_agent.register(app, topics, policy, ring, stage_partitions, metrics,
                              erased=ErasedSubjects(settings.data_dir))
    if "kanon" in settings.stages:
        kanon_agent.register(app, topics, policy, stage_partitions, metrics,
                             raw_partitions=kafka.raw_partitions or kafka.partitions, data_dir=settings.data_dir)
    if "lake" in settings.stages:
        sink.register(app, topics, settings.data_dir, metrics, lake_url=settings.lake_url,
                      flush_messages=settings.sink_flush_messages, flush_seconds=settings.sink_flush_seconds)
    if metrics is not None:
        register_lag_reporter(app, metrics)
    register_broker_watch(app, kafka.bootstrap, kafka.topic_ids, ssl_context=ping_ssl_context(kafka))
    return app


# Set when the broker came back without the state this worker depends on (see register_broker_watch).
BROKER_STATE_LOST = threading.Event()
# Set while the broker watch sees the broker unreachable: a SIGTERM then need not wait for it (resilience/shutdown).
BROKER_UNREACHABLE = threading.Event()


def ping_ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context the broker pings need (SASL_PLAINTEXT answers ApiVersions before authentication)."""
    return ssl.create_default_context(cafile=kafka.ssl_cafile) if "SSL" in kafka.security_protocol else None


def register_broker_watch(app: faust.App, bootstrap: str, started_on: dict[str, str | None] | None = None,
                          interval: float = 2.0, ssl_context: ssl.SSLContext | None = None,
                          ping_timeout: float = 1.5, timeouts_needed: int = 2) -> None:
    """One log line per broker state change while running (the client libraries' own retries are throttled).

    When the broker comes back after an outage, the worker checks that its topics are still the same ones (same
    topic ids). A cluster that lost its state (the embedded broker keeps nothing; a wiped test cluster) would make
    the worker skip or misplace data, so it stops, with one error line and exit code 3, for a clean restart.
    """
    from pipeline.resilience.ping import ping_async
    from pipeline.resilience.startup import BrokerStateLog
    from pipeline.settings import TOPIC_PSEUDONYMIZED, TOPIC_RAW
    from pipeline.topics import changelog_topics, topic_ids
    state = BrokerStateLog(bootstrap, log)
    watched = (TOPIC_RAW, TOPIC_PSEUDONYMIZED, *changelog_topics())
    known_ids: dict[str, str | None] = dict(started_on or {})
    timeouts = 0

    @app.timer(interval=interval)
    async def watch_broker() -> None:
        import asyncio
        nonlocal timeouts
        was_down = state.state is False
        # A real request, not a TCP connect: a frozen broker (paused VM, SIGSTOP, GC stall) still completes
        # handshakes from the kernel's listen backlog. The timeout stays below `interval` (no overlapping ticks).
        error = await ping_async(bootstrap, timeout=ping_timeout, ssl_context=ssl_context)
        if error is not None:
            # Refused is certain; a single timeout can be a busy broker on a loaded host, so it must repeat.
            timeouts = timeouts + 1 if "Timeout" in error else timeouts_needed
            if timeouts >= timeouts_needed:
                BROKER_UNREACHABLE.set()
                state.observe(False, error)
            return
        timeouts = 0
        BROKER_UNREACHABLE.clear()
        state.observe(True)
        if known_ids and not was_down:
            return
        loop = asyncio.get_running_loop()
        try:
            current = await loop.run_in_executor(None, topic_ids, bootstrap, watched)
        except Exception as exc:  # noqa: BLE001 - metadata not answerable yet: look again on the next tick
            log.debug("topic ids not readable yet (%s)", type(exc).__name__)
            return
        if not known_ids:
            known_ids.update(current)
            return
        changed = [t for t, topic_id in known_ids.items() if topic_id and current.get(t) != topic_id]
        if changed:
            log.error("broker %s came back without this worker's state (topics %s were re-created or are gone); "
                      "stopping with exit code 3 for a clean restart", bootstrap, ", ".join(sorted(changed)))
            BROKER_STATE_LOST.set()
            os.kill(os.getpid(), signal.SIGTERM)


def register_lag_reporter(app: faust.App, metrics, interval: float = 2.0) -> None:
    """Consumer lag per assigned partition (high watermark − committed offset), for the Prometheus endpoint."""

    @app.timer(interval=interval)
    async def report_consumer_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - partition not fetched yet; try again next tick
                continue
            committed = consumer._committed_offset.get(tp)  # faust keeps no public accessor for it
            if highwater is not None and highwater >= 0:
                metrics.record_consumer_lag(tp.topic, tp.partition, highwater - (committed or 0))
