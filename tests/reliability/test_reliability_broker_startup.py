"""Issue 8.4a: the worker's broker wait (pipeline/resilience/startup.py) against a real Tansu that appears late."""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time

import pytest
from reliability_support import wait_until

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


def start_worker_without_broker(tmp_path):
    from harness import make_keyring, traceable_policy

    from pipeline.demo import start_worker
    keyring = tmp_path / "secrets" / "keyring.json"
    make_keyring(keyring)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    # the raw event id stays in the lake (the default policy keeps only its HMAC): the test follows every event
    proc = start_worker(f"127.0.0.1:{port}", data_dir, keyring=keyring, partitions=4,
                        policy=traceable_policy(tmp_path))
    log = data_dir / "logs" / "worker-w1.log"
    wait_until(lambda: "unreachable" in log.read_text(errors="replace"), 60, "the worker to report no broker", [proc])
    return proc, port, data_dir, log


@pytest.mark.slow
def test_worker_process_started_before_the_broker_waits_then_processes_everything(tmp_path):
    import collections

    from harness import GENERATED_UNTIL
    from reliability_support import lake_event_ids

    from pipeline.generate import TelemetryGenerator
    from pipeline.processes import stop_process
    from pipeline.publish import publish_lines
    proc, port, data_dir, log = start_worker_without_broker(tmp_path)
    time.sleep(4.0)  # several backoff rounds without a broker
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "broker.log").start()
    try:
        wait_until(lambda: "[^Worker]: Ready" in log.read_text(errors="replace"), 120, "the worker to start", [proc])
        lines = list(TelemetryGenerator(7, end=GENERATED_UNTIL, hours=2).lines(2000))
        publish_lines(lines, broker.bootstrap, progress=False)
        wait_until(lambda: len(set(lake_event_ids(data_dir))) >= len(lines), 120, "every event to land", [proc])
    finally:
        stop_process(proc)
        broker.stop()
    ids = lake_event_ids(data_dir)
    assert [i for i, n in collections.Counter(ids).items() if n > 1] == [] and len(set(ids)) == len(lines)
    text = [line for line in log.read_text(errors="replace").splitlines() if "pipeline.worker: broker " in line]
    assert len(text) == 2, text  # many probes, one line per state change
    assert "unreachable (" in text[0] and "retrying with backoff" in text[0]
    assert f"127.0.0.1:{port} reachable after " in text[1]


def test_sigterm_while_waiting_for_the_broker_exits_at_once_with_code_0(tmp_path):
    proc, _, _, log = start_worker_without_broker(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0  # the shutdown bound
    assert "SIGTERM during start-up" in log.read_text(errors="replace")
