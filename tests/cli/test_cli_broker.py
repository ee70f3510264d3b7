"""`anonpipe broker` as a process manager runs it: TERM or INT stops the Tansu child too, and the command exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from pipeline.broker import free_port

pytestmark = pytest.mark.integration


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_broker_command(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "broker", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()  # blocks until the broker answered a real request (or the command failed)
    assert "ready" in line, line + proc.stdout.read()
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_broker_child_and_exits_zero(signum):
    port = free_port()
    proc = start_broker_command(port)
    children = psutil.Process(proc.pid).children(recursive=True)
    try:
        assert children and port_is_open(port)
        os.kill(proc.pid, signum)
        assert proc.wait(timeout=30) == 0, proc.stdout.read()
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"Tansu left running: {[p.pid for p in alive]}"
        deadline = time.monotonic() + 10
        while port_is_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not port_is_open(port), "the broker's port is still taken"
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in children:  # by the pids seen at start: an orphaned Tansu is no longer our child
            if child.is_running():
                child.kill()
