"""Wait for the Kafka broker at start-up with exponential backoff, logging one line per state change."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable

from pipeline.common.errors import BrokerError
from pipeline.resilience.ping import servers


class BrokerWaitTimeout(BrokerError):
    """The broker did not become reachable within the allowed time; the message is the operator's one line."""


class BrokerStateLog:
    """Logs 'reachable' / 'unreachable' only when the state changes, so a long outage is one line, not thousands."""

    def __init__(self, bootstrap: str, log: logging.Logger, clock: Callable[[], float] = time.monotonic):
        self.bootstrap = bootstrap
        self.log = log
        self.clock = clock
        self.state: bool | None = None
        self.since = clock()

    def observe(self, reachable: bool, detail: str = "") -> bool:
        """Record a probe result; True when this was a state change (and a line was logged)."""
        if reachable == self.state:
            return False
        elapsed = self.clock() - self.since
        if reachable:
            after = f" after {elapsed:.0f}s" if self.state is False else ""
            self.log.info("broker %s reachable%s", self.bootstrap, after)
        else:
            self.log.warning("broker %s unreachable%s; retrying with backoff", self.bootstrap,
                             f" ({detail})" if detail else "")
        self.state, self.since = reachable, self.clock()
        return True


def tcp_error(bootstrap: str, timeout: float = 1.0) -> str | None:
    """None when some bootstrap server accepts a TCP connection (cheap first check: kafka-python's own bootstrap
    blocks for up to its request timeout on a closed port, which would make the backoff meaningless)."""
    last = "NoBrokersAvailable"
    try:
        addresses = servers(bootstrap)
    except ValueError as exc:  # a port that is not a number
        return type(exc).__name__
    for host, port in addresses:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return None
        except (OSError, ValueError) as exc:
            last = type(exc).__name__
    return last


def probe(bootstrap: str, request_timeout_ms: int = 3000) -> str | None:
    """None when a real Kafka request (metadata: list topics) succeeds, else the error's type name."""
    from kafka import KafkaAdminClient  # local: kafka-python is slow to import
    from kafka.errors import KafkaError

    refused = tcp_error(bootstrap)
    if refused:
        return refused
    kafka_logger = logging.getLogger("kafka")
    previous = kafka_logger.level
    kafka_logger.setLevel(logging.CRITICAL)  # the client's own retry chatter would defeat "one line per change"
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms,
                                 client_id="anonpipe-probe")
        try:
            admin.list_topics()
            return None
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError) as exc:
        return type(exc).__name__
    finally:
        kafka_logger.setLevel(previous)


def wait_for_broker(bootstrap: str, *, timeout: float | None = 300.0, initial_backoff: float = 0.5,
                    max_backoff: float = 15.0, log: logging.Logger | None = None,
                    probe_fn: Callable[[str], str | None] = probe, sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> float:
    """Block until the broker answers; returns the seconds waited. `timeout=None` waits forever.

    Backoff doubles from `initial_backoff` to `max_backoff` with ±20 % jitter (many workers restarting together
    must not hit a recovering broker in lock-step). Raises BrokerWaitTimeout with one operator-readable line.
    """
    log = log or logging.getLogger(__name__)
    states = BrokerStateLog(bootstrap, log, clock)
    started = clock()
    backoff = initial_backoff
    while True:
        error = probe_fn(bootstrap)
        if error is None:
            states.observe(True)
            return clock() - started
        states.observe(False, error)
        waited = clock() - started
        if timeout is not None and waited >= timeout:
            raise BrokerWaitTimeout(f"Kafka broker at {bootstrap} unreachable for {waited:.0f}s ({error}); "
                                    "giving up (raise --broker-wait to wait longer)")
        pause = min(backoff, max_backoff) * random.uniform(0.8, 1.2)
        if timeout is not None:
            pause = max(0.0, min(pause, timeout - waited))
        sleep(pause)
        backoff = min(backoff * 2, max_backoff)
