#!/usr/bin/env python3
"""Kafka topic plan derived from the deployment policy's retention: print kafka-topics.sh commands or create topics."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Kafka deletes whole closed segments only, so data lives up to retention.ms + segment.ms
# (+ log.retention.check.interval.ms). Rolling segments at a quarter of the retention keeps
# that overshoot at 25 %; the floor avoids a flood of tiny segments on short retentions.
SEGMENT_FRACTION = 4
MIN_SEGMENT_MS = 10 * 60_000

RETENTION_KEYS = ("raw_topic_hours", "dlq_days", "pseudonymized_days", "aggregates_days")

# Topic -> (policy retention key, unit in ms).
TOPIC_RETENTION = {
    "telemetry.raw": ("raw_topic_hours", HOUR_MS),
    "telemetry.dlq": ("dlq_days", DAY_MS),
    "telemetry.pseudonymized": ("pseudonymized_days", DAY_MS),
    "telemetry.aggregates": ("aggregates_days", DAY_MS),
    "telemetry.window-stats": ("aggregates_days", DAY_MS),
}
# The k-anonymity table's changelog: compacted (latest state per cell) and co-partitioned with
# its source. Its cells hold not-yet-released counts derived from pseudonymized data, so
# `delete` bounds it by the pseudonymized zone's retention too (far beyond any window length).
CHANGELOG_TOPIC = "anonpipe-kanon-cells-changelog"
CHANGELOG_RETENTION_KEY = "pseudonymized_days"


class PolicyError(ValueError):
    """The policy file lacks a usable `retention` section."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic to create: name, partition count, replication factor and topic-level configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def retention_ms(amount: float, unit_ms: int) -> int:
    """`amount` hours/days (per `unit_ms`) as whole milliseconds; must be positive."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
        raise PolicyError(f"retention must be a positive number, got {amount!r}")
    return int(round(amount * unit_ms))


def segment_ms(retention: int) -> int:
    """segment.ms for a topic with `retention` ms, so deletion happens close to the retention deadline."""
    return min(retention, max(retention // SEGMENT_FRACTION, MIN_SEGMENT_MS))


def load_retention(policy_path: str | os.PathLike) -> dict[str, float]:
    """The `retention` mapping of the policy YAML, checked to have every key with a positive number."""
    with open(policy_path, encoding="utf-8") as handle:
        policy = yaml.safe_load(handle)
    retention = policy.get("retention") if isinstance(policy, Mapping) else None
    if not isinstance(retention, Mapping):
        raise PolicyError(f"{policy_path}: no `retention:` mapping")
    missing = [key for key in RETENTION_KEYS if key not in retention]
    if missing:
        raise PolicyError(f"{policy_path}: retention lacks {', '.join(missing)}")
    for key in RETENTION_KEYS:
        retention_ms(retention[key], 1)  # validates the value
    return {key: retention[key] for key in RETENTION_KEYS}


def plan_topics(retention: Mapping[str, float], partitions: int, replication_factor: int = 1) -> list[TopicSpec]:
    """The topics the worker needs (pipeline topics + table changelog), with retention.ms/segment.ms from the policy."""
    if partitions < 1 or replication_factor < 1:
        raise ValueError("partitions and replication factor must be >= 1")
    specs = []
    for name, (key, unit_ms) in TOPIC_RETENTION.items():
        keep_ms = retention_ms(retention[key], unit_ms)
        configs = {
            "cleanup.policy": "delete",
            "retention.ms": str(keep_ms),
            "segment.ms": str(segment_ms(keep_ms)),
        }
        if replication_factor >= 3:  # survive one broker loss without accepting under-replicated writes
            configs["min.insync.replicas"] = "2"
        specs.append(TopicSpec(name, partitions, replication_factor, configs))
    keep_ms = retention_ms(retention[CHANGELOG_RETENTION_KEY], DAY_MS)
    changelog_configs = {"cleanup.policy": "compact,delete", "retention.ms": str(keep_ms),
                         "segment.ms": str(segment_ms(keep_ms))}
    if replication_factor >= 3:
        changelog_configs["min.insync.replicas"] = "2"
    specs.append(TopicSpec(CHANGELOG_TOPIC, partitions, replication_factor, changelog_configs))
    return specs


def kafka_topics_commands(specs: list[TopicSpec], bootstrap: str, command_config: str | None = None) -> list[str]:
    """Equivalent `kafka-topics.sh --create --if-not-exists` lines (for ops who use the Kafka CLI)."""
    lines = []
    for spec in specs:
        argv = ["kafka-topics.sh", "--bootstrap-server", bootstrap, "--create", "--if-not-exists",
                "--topic", spec.name, "--partitions", str(spec.partitions),
                "--replication-factor", str(spec.replication_factor)]
        if command_config:  # SASL/TLS settings live in a properties file, never on the command line
            argv += ["--command-config", command_config]
        for key, value in spec.configs.items():
            argv += ["--config", f"{key}={value}"]
        lines.append(shlex.join(argv))
    return lines


def admin_client_kwargs(env: Mapping[str, str]) -> dict:
    """kafka-python client settings from the worker's ANONPIPE_* security variables."""
    kwargs: dict = {"security_protocol": env.get("ANONPIPE_SECURITY_PROTOCOL", "PLAINTEXT")}
    if env.get("ANONPIPE_SASL_MECHANISM"):
        kwargs["sasl_mechanism"] = env["ANONPIPE_SASL_MECHANISM"]
        kwargs["sasl_plain_username"] = env.get("ANONPIPE_SASL_USERNAME")
        kwargs["sasl_plain_password"] = env.get("ANONPIPE_SASL_PASSWORD")
    if env.get("ANONPIPE_SSL_CAFILE"):
        kwargs["ssl_cafile"] = env["ANONPIPE_SSL_CAFILE"]
    return kwargs


def create_topics(specs: list[TopicSpec], bootstrap: str, env: Mapping[str, str], timeout_s: float = 60.0) -> None:
    """Create missing topics and set the policy's configs on existing ones (idempotent; safe to re-run)."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    log = logging.getLogger("anonpipe.topics")
    deadline = time.monotonic() + timeout_s
    while True:  # the broker container may still be starting
        remaining_ms = max(1000, int((deadline - time.monotonic()) * 1000))
        # Each attempt may block for the client's bootstrap timeout: keep it inside our deadline.
        # (kafka-python 2.x calls it api_version_auto_timeout_ms and rejects unknown keys.)
        timeout_key = next(key for key in ("bootstrap_timeout_ms", "api_version_auto_timeout_ms")
                           if key in KafkaAdminClient.DEFAULT_CONFIG)
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="anonpipe-topics",
                                     **{timeout_key: min(remaining_ms, 10_000)}, **admin_client_kwargs(env))
            break
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"Kafka at {bootstrap} unreachable: {type(exc).__name__}") from None
            time.sleep(2)
    try:
        existing = set(admin.list_topics())
        for spec in specs:
            if spec.name in existing:
                # Retention is policy: a policy bump that shortens it must reach existing topics too.
                _set_topic_configs(admin, ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=dict(spec.configs)))
                log.info("topic exists, configs set", extra={"topic": spec.name, **_dotless(spec.configs)})
                continue
            try:
                with warnings.catch_warnings():  # kafka-python 3 deprecates NewTopic; 2.x needs it
                    warnings.simplefilter("ignore", DeprecationWarning)
                    admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication_factor,
                                                  topic_configs=spec.configs)])
                log.info("topic created", extra={"topic": spec.name, "partitions": spec.partitions,
                                                 **_dotless(spec.configs)})
            except TopicAlreadyExistsError:  # another replica of this job won the race
                log.info("topic created concurrently", extra={"topic": spec.name})
    finally:
        admin.close()


def _set_topic_configs(admin, resource) -> None:
    """Set `resource.configs` on a topic, raising if the broker rejects any of them."""
    import inspect

    kwargs = {}
    if "raise_on_unknown" in inspect.signature(admin.alter_configs).parameters:
        # kafka-python 3 pre-checks keys against the broker's "dynamic" list, which some
        # Kafka-compatible brokers leave empty; the broker itself still validates every key.
        kwargs["raise_on_unknown"] = False
    result = admin.alter_configs([resource], **kwargs)
    errors = [value for per_type in (result.values() if isinstance(result, dict) else [])
              for value in (per_type.values() if isinstance(per_type, dict) else [])
              if isinstance(value, Exception)]
    if errors:
        raise RuntimeError(f"broker rejected configs for {resource.name}: {errors[0]!r}")


def _dotless(configs: Mapping[str, str]) -> dict[str, str]:
    """Config keys as log field names (JSON consumers dislike dots in keys)."""
    return {key.replace(".", "_"): value for key, value in configs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["print", "create"], help="print kafka-topics.sh lines, or create via the admin API")
    parser.add_argument("--policy", default=os.environ.get("ANONPIPE_POLICY"),
                        help="policy YAML (default: $ANONPIPE_POLICY)")
    parser.add_argument("--bootstrap", default=os.environ.get("ANONPIPE_BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--partitions", type=int, default=int(os.environ.get("ANONPIPE_PARTITIONS", "4")))
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument("--command-config", help="client properties file to pass to kafka-topics.sh (print only)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the broker (create only)")
    args = parser.parse_args(argv)
    if not args.policy:
        parser.error("--policy or ANONPIPE_POLICY is required: retention comes from the policy")

    try:
        specs = plan_topics(load_retention(Path(args.policy)), args.partitions, args.replication_factor)
    except (PolicyError, OSError, ValueError) as exc:
        print(f"topics: {exc}", file=sys.stderr)
        return 2
    if args.action == "print":
        print("\n".join(kafka_topics_commands(specs, args.bootstrap, args.command_config)))
        return 0

    from pipeline.observability.logging import configure_logging, register_secret

    configure_logging(os.environ.get("ANONPIPE_LOG_FORMAT", "text"), os.environ.get("ANONPIPE_LOG_LEVEL", "INFO"))
    logging.getLogger("kafka").setLevel(logging.WARNING)  # connection chatter drowns the topic report
    if os.environ.get("ANONPIPE_SASL_PASSWORD"):
        register_secret(os.environ["ANONPIPE_SASL_PASSWORD"])
    create_topics(specs, args.bootstrap, os.environ, timeout_s=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
