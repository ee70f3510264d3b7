"""Create the pipeline's topics (idempotent) with kafka-python's admin client."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.settings import ALL_TOPICS, APP_ID


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
