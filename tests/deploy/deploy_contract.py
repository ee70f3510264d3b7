"""The deployment contract the tests check against: paths, the documented ANONPIPE_* variables, allowed values."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OPERATIONS_DOC = REPO / "docs" / "operations.md"

# The worker's environment contract (implemented by pipeline/cli.py). A name outside this set is a typo.
DOCUMENTED_ENV = frozenset({
    "ANONPIPE_BOOTSTRAP", "ANONPIPE_DATA_DIR", "ANONPIPE_POLICY", "ANONPIPE_KEYRING",
    "ANONPIPE_PARTITIONS", "ANONPIPE_METRICS_PORT", "ANONPIPE_LOG_FORMAT", "ANONPIPE_LOG_LEVEL",
    "ANONPIPE_SECURITY_PROTOCOL", "ANONPIPE_SASL_MECHANISM", "ANONPIPE_SASL_USERNAME",
    "ANONPIPE_SASL_PASSWORD", "ANONPIPE_SSL_CAFILE", "ANONPIPE_WEB_PORT",
}) | frozenset({"ANONPIPE_KEYRING_JSON"}) | frozenset(
    # every environment variable the worker command itself reads (so a typo in deploy/ still fails)
    param.envvar for param in __import__("pipeline.cli", fromlist=["worker"]).worker.params if param.envvar) | frozenset(
    # the lake maintenance service (deploy/k8s/deployment-maintain.yaml) and the zones' readers' groups
    param.envvar for param in __import__("pipeline.lake.cli", fromlist=["maintain_command"]).maintain_command.params
    if isinstance(param.envvar, str)) | frozenset(
    access.group_env for access in __import__("pipeline.lake.layout", fromlist=["ZONE_ACCESS"]).ZONE_ACCESS.values()
    if access.group_env)
SECURITY_PROTOCOLS = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
SASL_MECHANISMS = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
LOG_FORMATS = {"json", "text"}
ENV_NAME = re.compile(r"\bANONPIPE_[A-Z0-9_]+\b")


def undocumented_env_names(text: str) -> set[str]:
    """ANONPIPE_* names in `text` that are not part of the documented contract."""
    return set(ENV_NAME.findall(text)) - DOCUMENTED_ENV


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
