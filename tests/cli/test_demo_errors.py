"""The demo says why it cannot run: a bad --k before anything starts, a worker's start-up error from its log."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.demo import DemoError, demo_policy, wait_for


def test_a_bad_k_is_one_clear_line_before_anything_starts(tmp_path):
    with pytest.raises(DemoError, match=r"kanon\.k.*greater than or equal to 2"):
        demo_policy(tmp_path, k=0)


def test_a_worker_that_dies_at_start_up_is_quoted(tmp_path):
    log = tmp_path / "worker.log"
    log.write_text("starting\nError: keyring keys.json: mode 0644 is readable by others (chmod 600)\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    proc.wait()
    proc.log_path = log
    with pytest.raises(DemoError) as error:
        wait_for(lambda: False, timeout=5, what="the first batch", proc=proc)
    message = str(error.value)
    assert "worker exited with code 2 while waiting for the first batch" in message
    assert "Error: keyring keys.json: mode 0644 is readable by others (chmod 600)" in message
    assert str(log) in message
