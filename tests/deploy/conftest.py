"""Shared fixtures for deployment tests: parsed compose file, Kubernetes objects, and deploy/topics.py."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import yaml
from deploy_contract import DEPLOY, K8S


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def k8s_objects() -> list[dict]:
    """Every Kubernetes object under deploy/k8s (multi-document files flattened), Kustomization excluded."""
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                objects.append(doc)
    return objects


@pytest.fixture(scope="session")
def topics():
    """deploy/topics.py imported by path (deploy/ is not a package; in the image it is a plain script)."""
    spec = importlib.util.spec_from_file_location("anonpipe_deploy_topics", DEPLOY / "topics.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module
