"""docker-compose.yml: KRaft settings are self-consistent and the workers get every setting they need."""

from __future__ import annotations

import base64
import re

import pytest
from deploy_contract import DEPLOY, LOG_FORMATS, SECURITY_PROTOCOLS

WORKER_REQUIRED_ENV = {
    "ANONPIPE_BOOTSTRAP", "ANONPIPE_DATA_DIR", "ANONPIPE_POLICY", "ANONPIPE_KEYRING",
    "ANONPIPE_PARTITIONS", "ANONPIPE_METRICS_PORT", "ANONPIPE_LOG_FORMAT", "ANONPIPE_SECURITY_PROTOCOL",
}


def _listeners(spec: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}."""
    parsed = {}
    for item in spec.split(","):
        match = re.fullmatch(r"([A-Z_]+)://([^:]*):(\d+)", item.strip())
        assert match, f"malformed listener {item!r}"
        parsed[match[1]] = (match[2], int(match[3]))
    return parsed


@pytest.fixture(scope="module")
def kafka(compose):
    return compose["services"]["kafka"]


@pytest.fixture(scope="module")
def kenv(kafka):
    return {key: str(value) for key, value in kafka["environment"].items()}


@pytest.fixture(scope="module")
def worker(compose):
    return compose["services"]["worker"]


def test_services_present(compose):
    assert {"kafka", "topics", "worker", "prometheus"} <= set(compose["services"])


def test_kafka_is_official_image_3_9_or_newer(kafka):
    name, _, tag = kafka["image"].partition(":")
    assert name == "apache/kafka"
    major, minor = (int(part) for part in tag.split(".")[:2])
    assert (major, minor) >= (3, 9)


def test_kraft_roles_and_node_id(kenv):
    assert set(kenv["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert int(kenv["KAFKA_NODE_ID"]) >= 0
    assert not any(key.startswith("KAFKA_ZOOKEEPER") for key in kenv), "KRaft mode: no ZooKeeper settings"


def test_quorum_voters_reference_this_node_on_its_controller_listener(kafka, kenv):
    voters = {}
    for voter in kenv["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        match = re.fullmatch(r"(\d+)@([\w.-]+):(\d+)", voter)
        assert match, f"malformed voter {voter!r}"
        voters[int(match[1])] = (match[2], int(match[3]))
    node_id = int(kenv["KAFKA_NODE_ID"])
    assert node_id in voters
    host, port = voters[node_id]
    assert host in {kafka.get("hostname"), "kafka"}
    listeners = _listeners(kenv["KAFKA_LISTENERS"])
    controller_names = kenv["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")
    assert all(name in listeners for name in controller_names)
    assert port in {listeners[name][1] for name in controller_names}


def test_listener_names_are_mapped_and_controller_not_advertised(kenv):
    listeners = _listeners(kenv["KAFKA_LISTENERS"])
    advertised = _listeners(kenv["KAFKA_ADVERTISED_LISTENERS"])
    protocol_map = dict(item.split(":") for item in kenv["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocol_map)
    assert set(protocol_map.values()) <= SECURITY_PROTOCOLS
    assert set(advertised) <= set(listeners)
    assert not set(kenv["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")) & set(advertised)
    assert kenv["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    for name, (_, port) in advertised.items():
        assert listeners[name][1] == port, f"{name} advertised on a port it does not listen on"


def test_cluster_id_is_a_base64url_uuid(kenv):
    cluster_id = kenv["CLUSTER_ID"]
    raw = base64.urlsafe_b64decode(cluster_id + "==")
    assert len(raw) == 16
    assert base64.urlsafe_b64encode(raw).decode().rstrip("=") == cluster_id


def test_single_node_internal_topics_fit_one_broker(kenv):
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert int(kenv[key]) == 1
    assert kenv["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_worker_gets_every_setting_it_needs(worker, kenv):
    env = {key: str(value) for key, value in worker["environment"].items()}
    missing = WORKER_REQUIRED_ENV - set(env)
    assert not missing, f"worker lacks {sorted(missing)}"
    assert env["ANONPIPE_LOG_FORMAT"] in LOG_FORMATS
    assert env["ANONPIPE_SECURITY_PROTOCOL"] in SECURITY_PROTOCOLS
    advertised = _listeners(kenv["KAFKA_ADVERTISED_LISTENERS"])
    host, port = env["ANONPIPE_BOOTSTRAP"].split(":")
    assert (host, int(port)) in advertised.values(), "workers must use an advertised listener"


def test_worker_paths_point_at_what_is_mounted(worker):
    env = worker["environment"]
    secret_targets = {f"/run/secrets/{s['target']}" for s in worker["secrets"]}
    assert env["ANONPIPE_KEYRING"] in secret_targets
    assert env["ANONPIPE_POLICY"] in {c["target"] for c in worker["configs"]}
    mounts = {volume.split(":")[1] for volume in worker["volumes"]}
    assert env["ANONPIPE_DATA_DIR"] in mounts


def test_policy_and_keyring_sources_are_declared(compose):
    assert (DEPLOY / compose["configs"]["policy"]["file"]).is_file()
    assert compose["secrets"]["keyring"]["file"].startswith("./secrets/")
    assert "secrets/" in (DEPLOY / ".gitignore").read_text(), "local key rings must stay out of git"


def test_workers_scale_out_within_partition_count(worker):
    replicas = worker["deploy"]["replicas"]
    assert replicas >= 2
    assert replicas <= int(worker["environment"]["ANONPIPE_PARTITIONS"]), "extra workers would idle"


def test_worker_is_hardened(worker):
    assert worker.get("read_only") is True
    assert "ALL" in worker.get("cap_drop", [])
    assert str(worker.get("user", "10001")) not in {"root", "0", "0:0"}


def test_topic_job_shares_worker_settings_and_runs_first(compose, worker):
    topics = compose["services"]["topics"]
    for key in ("ANONPIPE_BOOTSTRAP", "ANONPIPE_PARTITIONS", "ANONPIPE_POLICY"):
        assert topics["environment"][key] == worker["environment"][key]
    assert topics["configs"] == worker["configs"]
    assert topics["entrypoint"][:3] == ["python", "/opt/anonpipe/topics.py", "create"]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["kafka"]


def test_compose_policy_has_usable_retention(compose, topics):
    retention = topics.load_retention(DEPLOY / compose["configs"]["policy"]["file"])
    assert retention["raw_topic_hours"] * 3600 < retention["dlq_days"] * 86400, "raw data must go first"


def test_prometheus_scrapes_the_worker_metrics_port(worker):
    import yaml

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "anonpipe-worker"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"]
    assert sd["port"] == int(worker["environment"]["ANONPIPE_METRICS_PORT"])
    assert str(sd["port"]) in worker["expose"]
