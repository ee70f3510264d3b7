"""Bound the worker's graceful shutdown when the broker is gone (faust would wait for it for up to 20 minutes)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable

from pipeline.resilience.ping import ping as default_ping

# Why the bound is needed (faust-streaming 0.15 / aiokafka 0.14, observed with the broker killed or frozen):
# SIGTERM runs App.stop → _stop_consumer → "Wait for streams..." (consumer.wait_empty): the ingest agent is
# awaiting a send whose batch sits in aiokafka's accumulator until the producer's request timeout (faust's
# producer_request_timeout: 1200 s); after that come the table flush, the consumer's commit (which first
# flushes the producer) and producer.stop() — each needs the broker. Shortening those timeouts would also make
# the running worker drop sends during short outages, so the bound applies to shutdown only.
#
# Why exiting without the broker loses nothing: a lake file is written synchronously in one event-loop callback
# (temp file, fsync, rename) and its source offset is committed only afterwards; the forced exit runs as an
# event-loop callback too, so it never lands inside a write. What is given up is the final offset commit:
# the uncommitted input is read again after a restart, and the sinks skip the batch ids already on disk.

HARD_LIMIT_S = 20.0
"""Even with a reachable broker, end a shutdown that has not finished after this long (a wedged client, a broker
that answers pings but not produce requests); below the 30 s most orchestrators wait before SIGKILL."""


class ShutdownWatchdog:
    """Armed by SIGTERM/SIGINT: ends the process between two event-loop callbacks when the broker is unreachable
    (or the shutdown outlives `hard_limit`), logging one line. A normal shutdown finishes first and never sees it."""

    def __init__(self, bootstrap: str, loop: asyncio.AbstractEventLoop, log: logging.Logger, *,
                 known_unreachable: Callable[[], bool] = lambda: False, exit_code: Callable[[], int] = lambda: 0,
                 ping: Callable[[str], str | None] | None = None, hard_limit: float = HARD_LIMIT_S,
                 failures_needed: int = 2, poll: float = 0.5, loop_grace: float = 3.0):
        self.bootstrap = bootstrap
        self.loop = loop
        self.log = log
        self.known_unreachable = known_unreachable
        self.exit_code = exit_code
        self.ping = ping or default_ping
        self.hard_limit = hard_limit
        self.failures_needed = failures_needed
        self.poll = poll
        self.loop_grace = loop_grace
        self._thread: threading.Thread | None = None

    def arm(self) -> None:
        """Idempotent; called from the signal handler, so it only starts a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="shutdown-watchdog", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        started = time.monotonic()
        failures = 0
        detail = ""
        while True:
            if self.known_unreachable():
                detail = "unreachable (seen by the broker watch)"
                break
            error = self.ping(self.bootstrap)
            # A refused connection is certain; a timeout may be a busy broker, so it must repeat to count.
            failures = 0 if error is None else (self.failures_needed if "Refused" in error else failures + 1)
            if failures >= self.failures_needed:
                detail = f"unreachable ({error})"
                break
            if time.monotonic() - started >= self.hard_limit:
                detail = f"reachable, but the shutdown is still waiting after {self.hard_limit:.0f}s"
                break
            time.sleep(self.poll)
        reason = (f"broker {self.bootstrap} {detail}: exiting without the final offset commit (files already "
                  "written are durable; uncommitted input is read again after a restart)")
        try:
            self.loop.call_soon_threadsafe(self._exit_now, reason)
        except RuntimeError:  # loop already closed: the normal shutdown is ending on its own
            return
        # The loop normally runs the callback within milliseconds; if it is stuck in a long synchronous call,
        # exit anyway (a write cut short leaves a hidden .tmp file that the next start removes).
        time.sleep(self.loop_grace)
        self._exit_now(reason + "; the event loop did not respond")

    def _exit_now(self, reason: str) -> None:
        code = self.exit_code()
        self.log.warning("shutdown: %s; exit code %d", reason, code)
        logging.shutdown()  # flush the log handlers: os._exit skips interpreter clean-up
        os._exit(code)
