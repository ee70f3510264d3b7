"""Start-up failures are one clear `anonpipe: error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import make_keyring
from pipeline.broker import free_port


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("anonpipe: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_missing_data_dir_is_created_0700_and_an_impossible_one_is_one_line(tmp_path):
    created = tmp_path / "new" / "data"
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(created), "--demo",
                     "--broker-wait", "0.5")
    assert created.is_dir() and created.stat().st_mode & 0o777 == 0o700
    assert_one_line_error(result, "broker")  # it got past the data dir
    (tmp_path / "file").write_text("")
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path / "file" / "data"), "--demo")
    assert_one_line_error(result, "data dir", "cannot be created")


@pytest.mark.parametrize("mode, fragment", [
    (0o644, "readable by group/others"),  # world-readable key file refused
    (0o640, "readable by group/others"),  # group-readable too
])
def test_key_file_with_loose_permissions(tmp_path, mode, fragment):
    keyring = tmp_path / "keyring.json"
    make_keyring(keyring)
    keyring.chmod(mode)
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path), "--keyring", str(keyring))
    assert_one_line_error(result, fragment)


def test_key_file_not_json(tmp_path):
    keyring = tmp_path / "keyring.json"
    keyring.write_text("{not json")
    keyring.chmod(0o600)
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path), "--keyring", str(keyring))
    assert_one_line_error(result, "not valid JSON")


def test_missing_key_outside_demo_mode(tmp_path):
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path))
    assert_one_line_error(result, "no key ring")


def test_unreachable_broker(tmp_path):
    keyring = tmp_path / "keyring.json"
    make_keyring(keyring)
    port = free_port()
    result = run_cli("worker", "--bootstrap", f"127.0.0.1:{port}", "--data-dir", str(tmp_path), "--keyring",
                     str(keyring), "--broker-wait", "2")
    assert_one_line_error(result, f"127.0.0.1:{port}", "unreachable")


def test_invalid_policy_names_the_line(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: '1'\nfields:\n  ip: {operator: ip_truncate, params: {ipv4_prefix: 99}}\n")
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path), "--demo",
                     "--policy", str(policy))
    assert_one_line_error(result, "line 3", "ipv4_prefix")


@pytest.mark.parametrize("stages", ["ingest,nope", ","])
def test_unknown_stage_is_refused_before_start(tmp_path, stages):
    result = run_cli("worker", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path), "--demo", "--stages", stages)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a stage; choose from ingest, kanon, lake" in result.stderr
