"""faust app and topic wiring only: which agent or service reads which topic; the stages' logic lives in their cores."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

import faust

from pipeline.broker_watch import BrokerWatch, LagReporter
from pipeline.failpoints import slow_changelog_sends
from pipeline.kanon import agent as kanon_agent
from pipeline.keys.ring import KeyRing
from pipeline.lake import sink
from pipeline.lake.blocklist import ErasedSubjects
from pipeline.policy.loader import CompiledPolicy
from pipeline.pseudonymize import agent as ingest_agent
from pipeline.pseudonymize.agent import BatchLimits, RawIngest
from pipeline.pseudonymize.batch import BatchIngest
from pipeline.rebalance import keep_records_across_recovery
from pipeline.resilience.cleared_queues import forget_cleared_messages
from pipeline.settings import (TOPIC_AGGREGATES, TOPIC_DLQ, TOPIC_PSEUDONYMIZED, TOPIC_RAW, TOPIC_WINDOW_STATS,
                               KafkaSettings, WorkerSettings, app_id_for)
from pipeline.topics import Cluster, changelog_topics

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


# Records handed from faust's fetcher to the agents per poll. Internal topics carry batches of many events, so a few
# keep the agents busy; unbounded, the fetcher moves the whole prefetch into the agents' queues at once. (The raw
# topic is read by the ingest service's own batch consumer, pipeline/pseudonymize/agent.py.)
MAX_POLL_RECORDS = 2


@dataclass
class Wiring:
    """The app and the services the worker process talks to."""

    app: faust.App
    broker_watch: BrokerWatch
    ingest: RawIngest | None = None


def create_app(settings: WorkerSettings, cluster: Cluster, policy: CompiledPolicy, ring: KeyRing,
               metrics=None) -> Wiring:
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
    keep_records_across_recovery(app)
    forget_cleared_messages(app)  # SIGTERM, revokes, end of recovery: no wait for messages faust dropped itself
    slow_changelog_sends()  # crash tests only (pipeline/failpoints.py)
    topics = Topics(
        raw=app.topic(TOPIC_RAW, value_type=bytes, key_type=bytes, partitions=cluster.raw_partitions),
        dlq=app.topic(TOPIC_DLQ, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
        pseudonymized=app.topic(TOPIC_PSEUDONYMIZED, value_type=bytes, key_type=bytes,
                                partitions=cluster.stage_partitions),
        aggregates=app.topic(TOPIC_AGGREGATES, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
        window_stats=app.topic(TOPIC_WINDOW_STATS, value_type=bytes, key_type=bytes, partitions=kafka.partitions),
    )
    wiring = Wiring(app, BrokerWatch(kafka.bootstrap, (TOPIC_RAW, TOPIC_PSEUDONYMIZED, *changelog_topics()),
                                     cluster.topic_ids, ssl_context=ping_ssl_context(kafka)))
    if "ingest" in settings.stages:
        services: dict = {}
        if settings.text_pii_process and any(op.name == "text_pii" for op in policy.operators):
            from pipeline.operators.text_pii import TEXT_PROCESS
            from pipeline.text_pii.offload import TextPiiProcess
            services[TEXT_PROCESS] = TextPiiProcess()
        batch = BatchIngest(policy, ring, cluster.raw_incarnation, cluster.stage_partitions, TOPIC_RAW,
                            services=services, erased=ErasedSubjects(settings.data_dir))
        limits = BatchLimits(settings.ingest_batch_messages, settings.ingest_batch_bytes, settings.ingest_batch_wait)
        wiring.ingest = ingest_agent.register(app, topics, batch, kafka, limits, metrics)
    if "kanon" in settings.stages:
        kanon_agent.register(app, topics, policy, cluster.stage_partitions, metrics,
                             raw_partitions=cluster.raw_partitions, data_dir=settings.data_dir)
    if "lake" in settings.stages:
        sink.register(app, topics, settings.data_dir, metrics, lake_url=settings.lake_url,
                      flush_messages=settings.sink_flush_messages, flush_seconds=settings.sink_flush_seconds)
    if metrics is not None:
        app.add_dependency(LagReporter(app, metrics, wiring.ingest))
    app.add_dependency(wiring.broker_watch)
    return wiring


def ping_ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context the broker pings need (SASL_PLAINTEXT answers ApiVersions before authentication)."""
    return ssl.create_default_context(cafile=kafka.ssl_cafile) if "SSL" in kafka.security_protocol else None
