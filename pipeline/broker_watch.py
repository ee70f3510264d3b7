"""Services beside the stages: the broker watch (reachability, lost broker state) and the consumer lag reporter."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import threading

from mode import Service

from pipeline.resilience.ping import ping_async
from pipeline.resilience.startup import BrokerStateLog
from pipeline.topics import topic_ids

log = logging.getLogger(__name__)


class BrokerWatch(Service):
    """One log line per broker state change while running (the client libraries' own retries are throttled).

    When the broker comes back after an outage, the worker checks that its topics are still the same ones (same
    topic ids). A cluster that lost its state (the embedded broker keeps nothing; a wiped test cluster) would make
    the worker skip or misplace data, so it stops, with one error line and exit code 3, for a clean restart.
    `state_lost` and `unreachable` are read by the worker's shutdown path (pipeline/worker.py).
    """

    def __init__(self, bootstrap: str, watched: tuple[str, ...], started_on: dict[str, str | None] | None = None,
                 interval: float = 2.0, ssl_context: ssl.SSLContext | None = None, ping_timeout: float = 1.5,
                 timeouts_needed: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.bootstrap, self.watched, self.interval = bootstrap, watched, interval
        self.ssl_context, self.ping_timeout, self.timeouts_needed = ssl_context, ping_timeout, timeouts_needed
        self.known_ids: dict[str, str | None] = dict(started_on or {})
        self.states = BrokerStateLog(bootstrap, log)
        self.timeouts = 0
        # Set when the broker came back without the state this worker depends on.
        self.state_lost = threading.Event()
        # Set while the broker is unreachable: a SIGTERM then need not wait for it (resilience/shutdown).
        self.unreachable = threading.Event()

    @Service.task
    async def _watch(self) -> None:
        while not self.should_stop:
            await self.check()
            await self.sleep(self.interval)

    async def check(self) -> None:
        was_down = self.states.state is False
        # A real request, not a TCP connect: a frozen broker (paused VM, SIGSTOP, GC stall) still completes
        # handshakes from the kernel's listen backlog. The timeout stays below `interval` (no overlapping ticks).
        error = await ping_async(self.bootstrap, timeout=self.ping_timeout, ssl_context=self.ssl_context)
        if error is not None:
            # Refused is certain; a single timeout can be a busy broker on a loaded host, so it must repeat.
            self.timeouts = self.timeouts + 1 if "Timeout" in error else self.timeouts_needed
            if self.timeouts >= self.timeouts_needed:
                self.unreachable.set()
                self.states.observe(False, error)
            return
        self.timeouts = 0
        self.unreachable.clear()
        self.states.observe(True)
        if self.known_ids and not was_down:
            return
        loop = asyncio.get_running_loop()
        try:
            current = await loop.run_in_executor(None, topic_ids, self.bootstrap, self.watched)
        except Exception as exc:  # noqa: BLE001 - metadata not answerable yet: look again on the next tick
            log.debug("topic ids not readable yet (%s)", type(exc).__name__)
            return
        if not self.known_ids:
            self.known_ids.update(current)
            return
        changed = [t for t, topic_id in self.known_ids.items() if topic_id and current.get(t) != topic_id]
        if changed:
            log.error("broker %s came back without this worker's state (topics %s were re-created or are gone); "
                      "stopping with exit code 3 for a clean restart", self.bootstrap, ", ".join(sorted(changed)))
            self.state_lost.set()
            os.kill(os.getpid(), signal.SIGTERM)


class LagReporter(Service):
    """Consumer lag per assigned partition (high watermark − committed offset), for the Prometheus endpoint:
    the faust consumer's partitions and those of the ingest stage's own consumer (`extra`)."""

    def __init__(self, app, metrics, extra=None, interval: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.app, self.metrics, self.extra, self.interval = app, metrics, extra, interval

    @Service.task
    async def _report(self) -> None:
        while not self.should_stop:
            await self.sleep(self.interval)
            self.report()

    def report(self) -> None:
        consumer = self.app.consumer
        for tp in consumer.assignment():
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - partition not fetched yet; try again next tick
                continue
            committed = consumer._committed_offset.get(tp)  # faust keeps no public accessor for it
            if highwater is not None and highwater >= 0:
                self.metrics.record_consumer_lag(tp.topic, tp.partition, highwater - (committed or 0))
        if self.extra is not None:
            for tp, lag in self.extra.lag().items():
                self.metrics.record_consumer_lag(tp.topic, tp.partition, lag)
