"""Every YAML under deploy/ parses, and every ANONPIPE_* name in deploy/ and the ops guide is documented."""

from __future__ import annotations

import pytest
import yaml
from deploy_contract import DEPLOY, DOCUMENTED_ENV, OPERATIONS_DOC, undocumented_env_names, yaml_files


def test_deploy_has_the_expected_yaml_files():
    names = {path.relative_to(DEPLOY).as_posix() for path in yaml_files()}
    assert {"docker-compose.yml", "k8s/deployment.yaml", "k8s/pdb.yaml", "k8s/job-topics.yaml",
            "k8s/configmap-policy.yaml", "k8s/secret-keyring.yaml", "k8s/service-metrics.yaml",
            "prometheus/prometheus.yml"} <= names


class ComposeLoader(yaml.SafeLoader):
    """Safe YAML plus the Compose spec's merge tags (`!reset`, `!override`) that override files use."""


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, lambda loader, node: (
        loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else
        loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node)))


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_yaml_parses_into_mappings(path):
    docs = [doc for doc in yaml.load_all(path.read_text(), Loader=ComposeLoader) if doc is not None]
    assert docs, f"{path} is empty"
    assert all(isinstance(doc, dict) for doc in docs)


def _deploy_texts():
    paths = [p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [(p, p.read_text()) for p in paths] + [(OPERATIONS_DOC, OPERATIONS_DOC.read_text())]


def test_every_anonpipe_env_name_is_documented():
    offenders = {str(path): names for path, text in _deploy_texts() if (names := undocumented_env_names(text))}
    assert not offenders, f"undocumented ANONPIPE_* names (typos?): {offenders}"


def test_env_check_catches_a_typo():
    # Guards the guard: a one-letter typo in a manifest must be reported.
    manifest = "env:\n  - name: ANONPIPE_BOOTSTRAPS\n    value: kafka:9092\n  - name: ANONPIPE_POLICY\n"
    assert undocumented_env_names(manifest) == {"ANONPIPE_BOOTSTRAPS"}


def test_operations_guide_documents_every_env_var_and_measured_sizing():
    text = OPERATIONS_DOC.read_text()
    missing = {name for name in DOCUMENTED_ENV if name not in text}
    assert not missing, f"docs/operations.md does not document {sorted(missing)}"
    assert "TBD" not in text, "the sizing table must carry measured figures"
    assert "Sustained events/s per worker" in text
    for topic in ("anonpipe keys new", "anonpipe keys destroy", "s3://", "SASL_SSL", "rebalanc"):
        assert topic in text, f"operations guide lacks {topic!r}"
