"""The lake sink's buffer: messages waiting to be written together, and when they are due.

Pure bookkeeping (no I/O): the sink agent adds every event (control messages too, so they are acknowledged in
order), writes when the buffer is full or its oldest message has waited long enough, and acknowledges the events
only after the write. A failed write puts the events back in front, so nothing is acknowledged unwritten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pipeline.lake.rollover import SinkMessage


@dataclass
class SinkBuffer:
    """Full at `max_messages` messages or `max_rows` rows (files are rolled by size), due after `max_seconds`."""

    max_messages: int
    max_seconds: float
    max_rows: int = 250_000
    clock: Callable[[], float] = time.monotonic
    events: list[Any] = field(default_factory=list)
    messages: list[SinkMessage] = field(default_factory=list)
    first_added: float | None = None
    rows: int = 0

    def add(self, event: Any, message: SinkMessage | None) -> None:
        """`message` is None for events that carry no rows (control messages); they are only acknowledged."""
        if self.first_added is None:
            self.first_added = self.clock()
        self.events.append(event)
        if message is not None:
            self.messages.append(message)
            self.rows += message.table.num_rows

    def full(self) -> bool:
        return len(self.messages) >= self.max_messages or self.rows >= self.max_rows

    def due(self) -> bool:
        return bool(self.events) and (self.full() or self.clock() - self.first_added >= self.max_seconds)

    def take(self) -> tuple[list[Any], list[SinkMessage]]:
        """Empty the buffer and return what it held; each event is taken by exactly one flush."""
        events, messages = self.events, self.messages
        self.events, self.messages, self.first_added, self.rows = [], [], None, 0
        return events, messages

    def put_back(self, events: list[Any], messages: list[SinkMessage]) -> None:
        """After a failed write: the events go back in front, in order, and are due again at once."""
        self.events = events + self.events
        self.messages = messages + self.messages
        self.rows += sum(message.table.num_rows for message in messages)
        self.first_added = self.clock() - self.max_seconds
