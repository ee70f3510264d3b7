"""Create the pipeline's topics (idempotent) with kafka-python's admin client."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.common.positions import incarnation_of
from pipeline.settings import ALL_TOPICS, APP_ID, TOPIC_PSEUDONYMIZED, TOPIC_RAW

log = logging.getLogger(__name__)


def changelog_topics() -> list[str]:
    return [f"{APP_ID}-kanon-cells-changelog"]


def ensure_topics(bootstrap: str, partitions: int, replication: int = 1, **client_options) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left as they are."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="anonpipe-admin", **client_options)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in (*ALL_TOPICS, *changelog_topics()) if t not in existing]
        if wanted:
            try:
                admin.create_topics([NewTopic(t, partitions, replication) for t in wanted])
            except TopicAlreadyExistsError:
                pass  # another worker won the race
        return wanted
    finally:
        admin.close()


def partition_counts(bootstrap: str, topics: tuple[str, ...] = ALL_TOPICS, **client_options) -> dict[str, int]:
    """Partition count of each existing topic, from the cluster's metadata (what the worker must route by)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="anonpipe-admin", **client_options)
    try:
        described = admin.describe_topics(list(topics))
        # kafka-python names the field "name" in newer protocol versions and "topic" in older ones
        return {item.get("name", item.get("topic")): len(item["partitions"]) for item in described
                if item.get("partitions")}
    finally:
        admin.close()


def topic_ids(bootstrap: str, topics: tuple[str, ...], **client_options) -> dict[str, str | None]:
    """Topic name → the cluster's topic id (a new id means the topic was deleted and created again)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="anonpipe-admin", request_timeout_ms=5000,
                             **client_options)
    try:
        return {item.get("name", item.get("topic")): item.get("topic_id") for item in admin.describe_topics(list(topics))
                if not item.get("error_code")}
    finally:
        admin.close()


@dataclass(frozen=True)
class Cluster:
    """What a worker reads from the cluster at start-up (its settings stay as given)."""

    raw_partitions: int
    """Actual partitions of telemetry.raw: the watermark's sources."""
    stage_partitions: int
    """Actual partitions of telemetry.pseudonymized: routing by event type, table partitions."""
    topic_ids: dict[str, str | None]
    """Ids of the topics at start-up; a broker that answers with other ids has lost this worker's state."""
    raw_incarnation: str
    """Token of the raw topic's id: part of every event's identity, so a re-created topic is not an old one."""


NO_TOPIC_ID = {None, "", "00000000-0000-0000-0000-000000000000", "AAAAAAAAAAAAAAAAAAAAAA"}


def read_cluster(bootstrap: str, partitions: int, **client_options) -> Cluster:
    """Partition counts, topic ids and the raw topic's incarnation, as the cluster reports them now."""
    counts = partition_counts(bootstrap, (TOPIC_RAW, TOPIC_PSEUDONYMIZED), **client_options)
    ids = topic_ids(bootstrap, (TOPIC_RAW, TOPIC_PSEUDONYMIZED, *changelog_topics()), **client_options)
    raw_id = ids.get(TOPIC_RAW)
    if raw_id in NO_TOPIC_ID:
        # A broker without topic ids (Kafka < 2.8): the incarnation is the cluster's id, so a replaced cluster is
        # told apart, but a topic deleted and re-created in the same cluster is not (docs/producers.md).
        raw_id = f"{cluster_id(bootstrap, **client_options)}/{TOPIC_RAW}"
        log.warning("the broker reports no topic id for %s: a re-created topic cannot be told from the old one; "
                    "identifying its events by the cluster id", TOPIC_RAW)
    return Cluster(raw_partitions=counts.get(TOPIC_RAW, partitions),
                   stage_partitions=counts.get(TOPIC_PSEUDONYMIZED, partitions),
                   topic_ids=ids, raw_incarnation=incarnation_of(str(raw_id)))


def cluster_id(bootstrap: str, **client_options) -> str:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="anonpipe-admin", request_timeout_ms=5000,
                             **client_options)
    try:
        return str(admin.describe_cluster().get("cluster_id") or "unknown-cluster")
    finally:
        admin.close()
