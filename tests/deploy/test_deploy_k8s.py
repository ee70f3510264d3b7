"""Kubernetes manifests: minimal schema, selectors that match, non-root hardening, key ring mounted 0400 read-only."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
import yaml
from deploy_contract import K8S, LOG_FORMATS, SASL_MECHANISMS, SECURITY_PROTOCOLS

NAMESPACE = "anonpipe"
CLUSTER_SCOPED = {"Namespace"}


def _one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def deployment(k8s_objects):
    return _one(k8s_objects, "Deployment", "anonpipe-worker")


@pytest.fixture(scope="module")
def pod(deployment):
    return deployment["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def worker(pod):
    (container,) = [c for c in pod["containers"] if c["name"] == "worker"]
    return container


@pytest.fixture(scope="module")
def job(k8s_objects):
    return _one(k8s_objects, "Job")


@pytest.fixture(scope="module")
def env(k8s_objects):
    """Worker environment as the pod sees it: the env ConfigMap (secrets come from the credentials Secret)."""
    return _one(k8s_objects, "ConfigMap", "anonpipe-env")["data"]


def _containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def _mount_path(container, volume_name):
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume_name]
    return mount


def _under(path, mount_path):
    return PurePosixPath(mount_path) in PurePosixPath(path).parents


def test_every_object_has_api_version_kind_name_and_namespace(k8s_objects):
    assert len(k8s_objects) >= 9
    for obj in k8s_objects:
        assert obj.get("apiVersion") and obj.get("kind"), obj
        assert obj["metadata"].get("name"), obj
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]["name"]


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


@pytest.mark.parametrize("kind, api_version", [
    ("Deployment", "apps/v1"), ("PodDisruptionBudget", "policy/v1"), ("Job", "batch/v1"),
    ("Service", "v1"), ("ConfigMap", "v1"), ("Secret", "v1"), ("PersistentVolumeClaim", "v1"),
])
def test_api_versions_are_current(k8s_objects, kind, api_version):
    assert {o["apiVersion"] for o in k8s_objects if o["kind"] == kind} == {api_version}


def test_deployment_selector_matches_template_labels(deployment):
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()


def test_pdb_and_service_select_the_worker_pods(k8s_objects, deployment):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdb = _one(k8s_objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable")
    service = _one(k8s_objects, "Service")
    assert service["spec"]["selector"].items() <= labels.items()


def test_metrics_port_is_consistent_everywhere(k8s_objects, worker, env):
    port = int(env["ANONPIPE_METRICS_PORT"])
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert ports["metrics"] == port
    assert ports["web"] == int(env["ANONPIPE_WEB_PORT"])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = worker[probe]["httpGet"]
        assert get["path"] == "/metrics" and get["port"] in ("metrics", port)
    (service_port,) = _one(k8s_objects, "Service")["spec"]["ports"]
    assert service_port["port"] == port and service_port["targetPort"] in ("metrics", port)


@pytest.mark.parametrize("which", ["deployment", "job"])
def test_every_container_runs_non_root_with_read_only_root(request, which):
    obj = request.getfixturevalue(which)
    pod_spec = obj["spec"]["template"]["spec"]
    pod_security = pod_spec.get("securityContext", {})
    assert pod_spec.get("automountServiceAccountToken") is False
    for container in _containers(pod_spec):
        security = {**pod_security, **container.get("securityContext", {})}
        assert security.get("runAsNonRoot") is True, container["name"]
        assert security.get("runAsUser", 0) != 0, container["name"]
        assert security.get("allowPrivilegeEscalation") is False, container["name"]
        assert security.get("readOnlyRootFilesystem") is True, container["name"]
        assert "ALL" in security.get("capabilities", {}).get("drop", []), container["name"]
        assert container["resources"]["requests"] and container["resources"]["limits"], container["name"]


def test_runs_as_the_image_user(pod):
    dockerfile_users = [line.split()[1] for line in (K8S.parent / "Dockerfile").read_text().splitlines()
                        if line.startswith("USER ")]
    assert dockerfile_users[-1].split(":")[0] == str(pod["securityContext"]["runAsUser"])


def test_keyring_secret_is_mounted_read_only_with_mode_0400(pod):
    secret_volumes = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "anonpipe-keyring"]
    assert len(secret_volumes) == 1
    volume = secret_volumes[0]
    assert volume["secret"]["defaultMode"] == 0o400
    assert all(item.get("mode", 0o400) == 0o400 for item in volume["secret"].get("items", []))
    mounts = [m for c in _containers(pod) for m in c.get("volumeMounts", []) if m["name"] == volume["name"]]
    assert mounts and all(m.get("readOnly") is True for m in mounts)


def test_worker_reads_key_ring_from_memory_copy_made_by_init_container(pod, worker, env):
    """The worker only sees the 0600 in-memory copy; the raw Secret volume stays in the init container."""
    assert all(m["name"] != "keyring-secret" for m in worker["volumeMounts"])
    keyring_volume = next(v for v in pod["volumes"] if v["name"] == "keyring")
    assert keyring_volume["emptyDir"]["medium"] == "Memory"
    mount = _mount_path(worker, "keyring")
    assert mount["readOnly"] is True
    assert _under(env["ANONPIPE_KEYRING"], mount["mountPath"])
    (init,) = pod["initContainers"]
    command = init["command"]
    assert command[:3] == ["install", "-m", "0600"]
    assert command[-1] == env["ANONPIPE_KEYRING"]
    assert _under(command[-2], _mount_path(init, "keyring-secret")["mountPath"])


def test_policy_path_is_a_key_of_the_mounted_policy_configmap(k8s_objects, pod, worker, env, topics, tmp_path):
    mount = _mount_path(worker, "policy")
    assert mount["readOnly"] is True and _under(env["ANONPIPE_POLICY"], mount["mountPath"])
    volume = next(v for v in pod["volumes"] if v["name"] == "policy")
    policy_map = _one(k8s_objects, "ConfigMap", volume["configMap"]["name"])
    key = PurePosixPath(env["ANONPIPE_POLICY"]).name
    policy_file = tmp_path / key
    policy_file.write_text(policy_map["data"][key])
    assert topics.load_retention(policy_file)["raw_topic_hours"] > 0


def test_job_mounts_the_same_policy_and_runs_topics_script(job, pod, env):
    job_pod = job["spec"]["template"]["spec"]
    assert job_pod["restartPolicy"] in {"OnFailure", "Never"}
    (container,) = job_pod["containers"]
    assert container["command"][:3] == ["python", "/opt/anonpipe/topics.py", "create"]
    assert _under(env["ANONPIPE_POLICY"], _mount_path(container, "policy")["mountPath"])
    job_policy = next(v for v in job_pod["volumes"] if v["name"] == "policy")["configMap"]["name"]
    worker_policy = next(v for v in pod["volumes"] if v["name"] == "policy")["configMap"]["name"]
    assert job_policy == worker_policy
    assert container["envFrom"] == next(c for c in pod["containers"] if c["name"] == "worker")["envFrom"]


def test_data_dir_is_the_shared_lake_volume(k8s_objects, pod, worker, env):
    mount = next(m for m in worker["volumeMounts"] if m["mountPath"] == env["ANONPIPE_DATA_DIR"])
    assert not mount.get("readOnly")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    claim = _one(k8s_objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert "ReadWriteMany" in claim["spec"]["accessModes"], "all replicas write the same lake"


def test_writable_scratch_dirs_exist_for_read_only_root(worker):
    paths = {m["mountPath"] for m in worker["volumeMounts"] if not m.get("readOnly")}
    assert {"/tmp", "/var/lib/anonpipe"} <= paths


def test_referenced_configmaps_and_secrets_exist_or_are_optional(k8s_objects, pod, worker):
    names = {(o["kind"], o["metadata"]["name"]) for o in k8s_objects}
    for source in worker["envFrom"]:
        kind, ref = ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
        assert (kind, ref["name"]) in names or ref.get("optional")
    for volume in pod["volumes"]:
        for kind, key, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            if key in volume:
                assert (kind, volume[key][name_key]) in names or volume[key].get("optional"), volume["name"]


def test_env_values_are_valid_and_secrets_stay_out_of_configmaps(k8s_objects, env, deployment):
    assert env["ANONPIPE_SECURITY_PROTOCOL"] in SECURITY_PROTOCOLS
    assert env["ANONPIPE_LOG_FORMAT"] in LOG_FORMATS
    if env["ANONPIPE_SECURITY_PROTOCOL"].startswith("SASL"):
        assert env["ANONPIPE_SASL_MECHANISM"] in SASL_MECHANISMS
    for config_map in (o for o in k8s_objects if o["kind"] == "ConfigMap"):
        assert not {k for k in config_map.get("data", {}) if "PASSWORD" in k or "USERNAME" in k}
    credentials = _one(k8s_objects, "Secret", "anonpipe-kafka-credentials")
    assert set(credentials["stringData"]) == {"ANONPIPE_SASL_USERNAME", "ANONPIPE_SASL_PASSWORD"}
    assert deployment["spec"]["replicas"] <= int(env["ANONPIPE_PARTITIONS"]), "extra workers would idle"


def test_rollout_never_runs_more_consumers_than_replicas(deployment):
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxSurge"] == 0 and rolling["maxUnavailable"] >= 1
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30
