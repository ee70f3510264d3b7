"""`anonpipe publish` into a log file (stderr not a terminal): no progress bar redrawn with carriage returns."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.broker import EmbeddedBroker

pytestmark = pytest.mark.integration


def test_publish_writes_plain_lines_when_stderr_is_not_a_terminal(tmp_path):
    events = tmp_path / "events.ndjson"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "generate", "--events", "3000", "--out", str(events)],
                   check=True, capture_output=True)
    with EmbeddedBroker() as broker:
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", "publish", str(events), "--bootstrap",
                                 broker.bootstrap, "--events-per-envelope", "100"],
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "published 3000 events" in result.stdout
    assert "\r" not in result.stderr and "ev/s" not in result.stderr
