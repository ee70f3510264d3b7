"""The policies shipped in deploy/ are complete, valid policies the worker accepts (not placeholders)."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.policy.loader import compile_policy, load_policy

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_policy_loads():
    policy = load_policy(DEPLOY / "config" / "policy.yaml")
    assert policy.policy.kanon.k >= 2 and policy.operators


def test_kubernetes_configmap_policy_loads():
    configmap = yaml.safe_load((DEPLOY / "k8s" / "configmap-policy.yaml").read_text())
    policy = compile_policy(yaml.safe_load(configmap["data"]["policy.yaml"]), "configmap-policy.yaml")
    assert policy.operators
