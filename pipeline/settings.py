"""Worker settings, one section per concern, read from CLI flags and ANONPIPE_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TOPIC_RAW = "telemetry.raw"
TOPIC_DLQ = "telemetry.dlq"
TOPIC_PSEUDONYMIZED = "telemetry.pseudonymized"
TOPIC_AGGREGATES = "telemetry.aggregates"
TOPIC_WINDOW_STATS = "telemetry.window-stats"
ALL_TOPICS = (TOPIC_RAW, TOPIC_DLQ, TOPIC_PSEUDONYMIZED, TOPIC_AGGREGATES, TOPIC_WINDOW_STATS)
APP_ID = "anonpipe"
# The stream stages a worker can run; a worker runs all of them unless told otherwise (--stages).
STAGES = ("ingest", "kanon", "lake")


def app_id_for(stages: tuple[str, ...]) -> str:
    """The faust app id, hence the consumer group, of workers running `stages`.

    Workers with the k-anonymity stage keep APP_ID: its state's changelog topic is named after it. Others get a
    group of their own, so an ingest-only deployment never shares partitions with workers that run other stages.
    """
    return APP_ID if "kanon" in stages else "-".join((APP_ID, *sorted(stages)))


@dataclass
class KafkaSettings:
    """How to reach the cluster."""

    bootstrap: str = "127.0.0.1:9092"
    """Comma-separated host:port list."""
    security_protocol: str = "PLAINTEXT"
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    partitions: int = 4
    """Partition count used when this worker creates missing topics."""
    replication: int | None = None
    """Replication factor of created topics; default 1 on the embedded broker, 3 on a real cluster."""
    embedded: bool = False
    """True on the embedded Tansu broker: enables the workarounds listed in docs/tansu.md."""

    @property
    def replication_factor(self) -> int:
        return self.replication or (1 if self.embedded else 3)


@dataclass
class WorkerSettings:
    """Everything one worker process needs."""

    kafka: KafkaSettings
    data_dir: Path
    """Lake root (zones under lake/, restricted DLQ under dlq/)."""
    lake_url: str | None = None
    """Object-store URL for the lake zones (s3://bucket/prefix, gs://…, file://…); None = data_dir/lake."""
    policy_path: str | None = None
    """Policy YAML; None = the packaged default policy."""
    keyring_path: str | None = None
    """Key ring JSON (mode 0600); None only in demo mode."""
    demo: bool = False
    """Demo mode: an ephemeral in-memory key ring may be generated (and the worker says so)."""
    web_port: int = 6066
    metrics_port: int = 0
    """Prometheus endpoint port; 0 disables it."""
    stages: tuple[str, ...] = STAGES
    """The stream stages this worker runs (scale the CPU-heavy ingest stage on its own, say)."""
    sink_flush_messages: int = 200
    """A lake sink writes a file after this many messages (≈ 200k rows at 1k events per message) …"""
    sink_flush_seconds: float = 2.0
    """… or after this long, whichever comes first; messages are acknowledged only after the write."""
    ingest_batch_messages: int = 5000
    """The ingest stage validates and pseudonymizes up to this many raw messages at once …"""
    ingest_batch_bytes: int = 8 * 1024 * 1024
    """… or this many bytes of them …"""
    ingest_batch_wait: float = 0.1
    """… waiting at most this long (seconds) for more once the first message arrived."""
    text_pii_process: bool = True
    """The ingest stage cleans free text partly in a helper process (another core) while it computes the rest."""
    broker_wait: float = 60.0
    """Seconds to wait for the broker at start-up before exiting with one error line."""
    log_format: str = "text"
    log_level: str = "INFO"
    worker_id: str = field(default_factory=lambda: os.environ.get("HOSTNAME", "worker"))
