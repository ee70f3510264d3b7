"""Retention is scheduled in every deployment: compose and Kubernetes run `anonpipe lake maintain` on the lake
the workers write, with the same policy, and the alert rules use the gauges the service really exports."""

from __future__ import annotations

import re

import pytest
import yaml
from deploy_contract import DEPLOY

from pipeline.lake.cli import lake_group
from pipeline.lake.maintain import LAST_SUCCESS, OLDEST_AGE, RETENTION


def _parses(argv: list[str]) -> None:
    assert argv[:3] == ["anonpipe", "lake", "maintain"]
    command = lake_group.commands["maintain"]
    command.make_context("maintain", list(argv[3:]))  # raises on an unknown or malformed option


def test_compose_runs_the_service_on_the_worker_lake_and_policy(compose):
    maintain, worker = compose["services"]["maintain"], compose["services"]["worker"]
    _parses(maintain["entrypoint"])
    assert "--once" not in maintain["entrypoint"], "a one-shot run in compose would never repeat"
    assert set(maintain["volumes"]) == {v for v in worker["volumes"] if v.endswith(":/data")}
    assert maintain["environment"]["ANONPIPE_DATA_DIR"] == worker["environment"]["ANONPIPE_DATA_DIR"]
    assert maintain["configs"] == worker["configs"]
    assert maintain["restart"] == "unless-stopped" and maintain["read_only"] is True


def test_kubernetes_runs_one_maintainer_on_the_worker_volume(k8s_objects):
    deployments = {o["metadata"]["name"]: o for o in k8s_objects if o["kind"] == "Deployment"}
    maintain, worker = deployments["anonpipe-maintain"], deployments["anonpipe-worker"]
    assert maintain["spec"]["replicas"] == 1 and maintain["spec"]["strategy"]["type"] == "Recreate"
    pod = maintain["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    _parses(container["command"] + container["args"])
    claims = lambda spec: {v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]  # noqa: E731
                           if "persistentVolumeClaim" in v}
    assert claims(pod) == claims(worker["spec"]["template"]["spec"])
    assert container["envFrom"] == [{"configMapRef": {"name": "anonpipe-env"}}]  # no Kafka or key secrets
    assert not any("keyring" in v["name"] for v in pod["volumes"])
    security = {**pod["securityContext"], **container["securityContext"]}
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    env = next(o for o in k8s_objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "anonpipe-env")["data"]
    groups = {int(env["ANONPIPE_SHAREABLE_GROUP"]), int(env["ANONPIPE_RESTRICTED_GROUP"])}
    assert groups <= set(pod["securityContext"]["supplementalGroups"]), "it must be a member to chgrp"
    assert len(groups) == 2, "analysts and restricted readers need different groups"


@pytest.mark.parametrize("gauge", [OLDEST_AGE, RETENTION, LAST_SUCCESS])
def test_alert_rules_use_the_exported_gauges(gauge):
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    exprs = " ".join(r["expr"] for r in rules if r["alert"] in ("AnonpipeRetentionOverdue", "AnonpipeMaintenanceStalled"))
    name = gauge.describe()[0].name
    assert re.search(rf"\b{name}\b", exprs), name


def test_prometheus_scrapes_the_maintainer(compose):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    port = compose["services"]["maintain"]["environment"]["ANONPIPE_METRICS_PORT"]
    targets = [t for job in config["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
    assert f"maintain:{port}" in targets


def test_no_pod_regroups_the_whole_lake_at_start(k8s_objects):
    """fsGroupChangePolicy Always (the default) would chown every lake file to the pod's fsGroup on each start."""
    for obj in k8s_objects:
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        if any("persistentVolumeClaim" in v for v in pod["volumes"]) and "fsGroup" in pod["securityContext"]:
            assert pod["securityContext"].get("fsGroupChangePolicy") == "OnRootMismatch", obj["metadata"]["name"]
