"""Issue 8.4a: the worker's broker wait (pipeline/resilience/startup.py) against a real Tansu that appears late."""

from __future__ import annotations

import itertools
import logging
import threading
import time

import pytest

from pipeline.broker import EmbeddedBroker, free_port
from pipeline.resilience.startup import BrokerWaitTimeout, wait_for_broker

pytestmark = pytest.mark.integration


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def captured():
    handler = Lines()
    log = logging.getLogger("test.broker-wait")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, handler.lines
    log.removeHandler(handler)


def test_waits_with_backoff_until_the_broker_appears_and_logs_each_state_once(captured, tmp_path):
    log, lines = captured
    port = free_port()
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "broker.log")
    starter = threading.Timer(6.0, broker.start)
    starter.start()
    try:
        waited = wait_for_broker(f"127.0.0.1:{port}", timeout=60, initial_backoff=0.2, max_backoff=2.0, log=log)
    finally:
        starter.join()
        broker.stop()
    assert 5.0 <= waited < 30
    assert lines[0].startswith(f"broker 127.0.0.1:{port} unreachable (") and lines[0].endswith("retrying with backoff")
    assert lines[1].startswith(f"broker 127.0.0.1:{port} reachable after ")
    assert len(lines) == 2  # many probes, two state changes, two lines


def test_gives_up_after_the_timeout_with_one_clear_line(captured):
    log, lines = captured
    port = free_port()
    started = time.monotonic()
    with pytest.raises(BrokerWaitTimeout) as info:
        wait_for_broker(f"127.0.0.1:{port}", timeout=3, initial_backoff=0.2, max_backoff=1.0, log=log)
    assert 3 <= time.monotonic() - started < 10
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "--broker-wait" in message
    assert len(lines) == 1 and "unreachable" in lines[0]


def test_backoff_grows_to_the_cap():
    pauses: list[float] = []
    clock = iter(range(10_000)).__next__
    with pytest.raises(BrokerWaitTimeout):
        wait_for_broker("127.0.0.1:1", timeout=100, initial_backoff=0.5, max_backoff=4.0,
                        log=logging.getLogger("test.silent"), probe_fn=lambda _: "NoBrokersAvailable",
                        sleep=pauses.append, clock=lambda: float(clock()))
    pauses = pauses[:-1]  # the last pause is cut short by the timeout
    assert 0.4 <= pauses[0] <= 0.6
    assert all(b >= a * 0.6 for a, b in itertools.pairwise(pauses))  # grows (jitter aside)
    assert max(pauses) <= 4.0 * 1.2 and max(pauses) >= 4.0 * 0.8


def test_available_broker_returns_at_once(captured, tmp_path):
    log, lines = captured
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        assert wait_for_broker(broker.bootstrap, timeout=10, log=log) < 5
    assert lines == [f"broker {broker.bootstrap} reachable"]
