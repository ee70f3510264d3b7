"""Collapse bursts of identical client-library log lines (e.g. aiokafka retrying a lost broker) into one line."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Callable

# Loggers whose retry loops can print hundreds of identical lines per second during a broker outage.
# faust.transport.producer: "producer buffer full size N" every 0.1 s while a frozen broker holds the sends.
NOISY_PREFIXES = ("aiokafka", "kafka", "faust.transport.producer")
# Some libraries format numbers into the message itself (f-strings), so the template is recovered by masking them.
_NUMBERS = re.compile(r"\d+")


class RepeatCollapsingFilter(logging.Filter):
    """Lets the first record of a kind through, drops repeats for `window` seconds, then reports the count.

    A record's kind is its logger and message template (not the formatted text, which carries changing numbers),
    so "Unable connect to node with id 1: …" retried 800 times is one line plus one "(799 similar suppressed)".
    Only WARNING and above from the noisy client libraries are collapsed; our own lines always pass.
    """

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 prefixes: tuple[str, ...] = NOISY_PREFIXES):
        super().__init__()
        self.window = window
        self.clock = clock
        self.prefixes = prefixes
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, _NUMBERS.sub("#", str(record.msg)))
        now = self.clock()
        with self._lock:
            first_seen, suppressed = self._seen.get(key, (None, 0))
            if first_seen is not None and now - first_seen < self.window:
                self._seen[key] = (first_seen, suppressed + 1)
                return False
            self._seen[key] = (now, 0)
        if suppressed:
            record.msg = f"{record.msg} ({suppressed} similar lines suppressed in the last {self.window:.0f}s)"
        return True
