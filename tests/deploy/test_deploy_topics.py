"""deploy/topics.py: retention math, the topic plan, kafka-topics.sh output, and creation on a real broker."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
from deploy_contract import DEPLOY, REPO

HOUR_MS, DAY_MS = 3600 * 1000, 24 * 3600 * 1000
RETENTION = {"raw_topic_hours": 6, "dlq_days": 14, "pseudonymized_days": 30, "aggregates_days": 400}


@pytest.mark.parametrize("amount, unit, expected", [
    (24, HOUR_MS, 86_400_000),
    (1.5, DAY_MS, 129_600_000),
    (0.25, HOUR_MS, 900_000),
    (365, DAY_MS, 31_536_000_000),  # beyond 32-bit: Kafka's retention.ms is a long
])
def test_retention_ms(topics, amount, unit, expected):
    assert topics.retention_ms(amount, unit) == expected


@pytest.mark.parametrize("bad", [0, -1, True, "24", None])
def test_retention_must_be_a_positive_number(topics, bad):
    with pytest.raises(topics.PolicyError):
        topics.retention_ms(bad, HOUR_MS)


def test_segment_ms_bounds_how_long_data_outlives_retention(topics):
    for keep in (60_000, 10 * 60_000, HOUR_MS, 24 * HOUR_MS, 365 * DAY_MS):
        segment = topics.segment_ms(keep)
        assert segment <= keep
        assert segment <= max(keep // 4, 10 * 60_000)  # worst-case lifetime <= 125 % of retention (or +10 min)
        assert segment >= min(keep, 10 * 60_000)  # no flood of tiny segments
    assert topics.segment_ms(24 * HOUR_MS) == 6 * HOUR_MS


def test_plan_maps_each_topic_to_its_policy_retention(topics):
    plan = {spec.name: spec for spec in topics.plan_topics(RETENTION, partitions=8)}
    changelog = plan.pop("anonpipe-kanon-cells-changelog")
    assert changelog.configs["cleanup.policy"] == "compact,delete"
    assert int(changelog.configs["retention.ms"]) == RETENTION["pseudonymized_days"] * DAY_MS
    assert changelog.partitions == 8, "a table changelog must be co-partitioned with its source"
    assert set(plan) == {"telemetry.raw", "telemetry.dlq", "telemetry.pseudonymized",
                         "telemetry.aggregates", "telemetry.window-stats"}
    expected_ms = {
        "telemetry.raw": RETENTION["raw_topic_hours"] * HOUR_MS,
        "telemetry.dlq": RETENTION["dlq_days"] * DAY_MS,
        "telemetry.pseudonymized": RETENTION["pseudonymized_days"] * DAY_MS,
        "telemetry.aggregates": RETENTION["aggregates_days"] * DAY_MS,
        "telemetry.window-stats": RETENTION["aggregates_days"] * DAY_MS,
    }
    for name, spec in plan.items():
        assert int(spec.configs["retention.ms"]) == expected_ms[name], name
        assert spec.configs["cleanup.policy"] == "delete"
        assert spec.partitions == 8 and spec.replication_factor == 1
        assert "min.insync.replicas" not in spec.configs


def test_replicated_plan_requires_two_in_sync_replicas(topics):
    for spec in topics.plan_topics(RETENTION, partitions=12, replication_factor=3):
        assert spec.configs["min.insync.replicas"] == "2"


@pytest.mark.parametrize("partitions, replication", [(0, 1), (4, 0)])
def test_plan_rejects_nonsense_counts(topics, partitions, replication):
    with pytest.raises(ValueError):
        topics.plan_topics(RETENTION, partitions, replication)


def test_load_retention_reads_the_policy_file(topics, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("k: 5\nretention:\n  raw_topic_hours: 12\n  dlq_days: 7\n"
                      "  pseudonymized_days: 30\n  aggregates_days: 90\n")
    assert topics.load_retention(policy) == {"raw_topic_hours": 12, "dlq_days": 7,
                                             "pseudonymized_days": 30, "aggregates_days": 90}


@pytest.mark.parametrize("body", [
    "k: 5\n",
    "retention: 3\n",
    "retention: {raw_topic_hours: 12, dlq_days: 7, pseudonymized_days: 30}\n",
    "retention: {raw_topic_hours: 0, dlq_days: 7, pseudonymized_days: 30, aggregates_days: 1}\n",
    "- a list\n",
])
def test_load_retention_rejects_incomplete_policies(topics, tmp_path, body):
    policy = tmp_path / "policy.yaml"
    policy.write_text(body)
    with pytest.raises(topics.PolicyError):
        topics.load_retention(policy)


def test_kafka_topics_commands_are_idempotent_creates(topics):
    specs = topics.plan_topics(RETENTION, partitions=4)
    lines = topics.kafka_topics_commands(specs, "kafka:9092", command_config="/etc/kafka/client.properties")
    assert len(lines) == len(specs)
    for line, spec in zip(lines, specs):
        argv = shlex.split(line)
        assert argv[0] == "kafka-topics.sh" and "--create" in argv and "--if-not-exists" in argv
        assert argv[argv.index("--topic") + 1] == spec.name
        assert argv[argv.index("--partitions") + 1] == "4"
        assert argv[argv.index("--command-config") + 1] == "/etc/kafka/client.properties"
        configs = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--config")
        assert configs == spec.configs


def test_admin_client_kwargs_follow_the_worker_env(topics):
    assert topics.admin_client_kwargs({}) == {"security_protocol": "PLAINTEXT"}
    kwargs = topics.admin_client_kwargs({
        "ANONPIPE_SECURITY_PROTOCOL": "SASL_SSL", "ANONPIPE_SASL_MECHANISM": "SCRAM-SHA-512",
        "ANONPIPE_SASL_USERNAME": "anonpipe", "ANONPIPE_SASL_PASSWORD": "pw", "ANONPIPE_SSL_CAFILE": "/ca.crt",
    })
    assert kwargs == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_plain_username": "anonpipe", "sasl_plain_password": "pw", "ssl_cafile": "/ca.crt"}


def _run_script(*args, env_extra=None, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    env.pop("ANONPIPE_POLICY", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(DEPLOY / "topics.py"), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_print_uses_the_policy_and_partition_env():
    result = _run_script("print", "--policy", str(DEPLOY / "config" / "policy.yaml"),
                         env_extra={"ANONPIPE_PARTITIONS": "9"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 6 and all("--partitions 9" in line for line in lines)


def test_cli_requires_a_policy_and_reports_bad_ones(tmp_path):
    assert _run_script("print").returncode == 2
    bad = tmp_path / "p.yaml"
    bad.write_text("k: 5\n")
    result = _run_script("print", "--policy", str(bad))
    assert result.returncode == 2 and "retention" in result.stderr


def test_cli_create_never_prints_the_sasl_password(tmp_path):
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    password = "Zq8-not-for-logs-41c7"
    result = _run_script("create", "--policy", str(DEPLOY / "config" / "policy.yaml"),
                         "--bootstrap", f"127.0.0.1:{closed_port}", "--timeout", "1",
                         env_extra={"ANONPIPE_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                                    "ANONPIPE_SASL_MECHANISM": "PLAIN", "ANONPIPE_SASL_USERNAME": "u",
                                    "ANONPIPE_SASL_PASSWORD": password, "ANONPIPE_LOG_LEVEL": "DEBUG"})
    assert result.returncode != 0
    assert password not in result.stdout + result.stderr


@pytest.mark.integration
def test_create_is_idempotent_and_reapplies_changed_retention_on_a_real_broker(topics):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    from pipeline.broker import EmbeddedBroker
    from pipeline.common.errors import BrokerError

    try:
        broker = EmbeddedBroker().start()
    except BrokerError as exc:
        pytest.skip(f"embedded broker unavailable: {exc}")
    try:
        topics.create_topics(topics.plan_topics(RETENTION, partitions=3), broker.bootstrap, {})
        shorter = {**RETENTION, "raw_topic_hours": 2}
        topics.create_topics(topics.plan_topics(shorter, partitions=3), broker.bootstrap, {})  # re-run: no error
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="anonpipe-test")
        try:
            described = admin.describe_topics(["telemetry.raw", "telemetry.dlq"])
            assert all(len(topic["partitions"]) == 3 for topic in described)
            configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "telemetry.raw")],
                                             config_filter="all")
            assert configs["topic"]["telemetry.raw"]["retention.ms"]["value"] == str(2 * HOUR_MS)
        finally:
            admin.close()
    finally:
        broker.stop()


def test_topic_names_match_the_worker_settings(topics):
    """The worker's own topic list (pipeline/settings.py, pipeline/topics.py) and this plan must not drift."""
    from pipeline import settings
    from pipeline import topics as worker_topics

    planned = {spec.name for spec in topics.plan_topics(RETENTION, partitions=1)}
    assert planned == set(settings.ALL_TOPICS) | set(worker_topics.changelog_topics())
