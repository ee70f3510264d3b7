"""Wait for a faust table's changelog writes to be acknowledged before the message that caused them is.

faust 0.15.3 commits an agent's offsets after `producer.flush()`, but that flush does not wait for every buffered
message: `ProducerBuffer.flush_atmost` returns as soon as one message takes longer than 0.1 s to leave the buffer
(`asyncio.TimeoutError` → `return`), and a message the buffer's sender task already took but has not yet handed to
the Kafka client is not counted at all. On a loaded host an offset can therefore be committed while the table
writes its message caused are still only in memory; a `kill -9` then loses those writes for good (recovery does not
find them in the changelog and the committed input is never read again). Seen as a k-anonymity window released a
second time, with fewer people, after a kill (tests/reliability/test_reliability_crash.py).

`ChangelogAcks.track(table)` records the future of every changelog write the table makes; the agent awaits
`settle()` before it moves on to its next message, which is when faust acknowledges the current one. An offset is
then only committed after the broker holds every table change made for it, whatever faust's flush does.
"""

from __future__ import annotations

import asyncio


class ChangelogAcks:
    """Futures of changelog writes not yet awaited (one agent's; faust runs an agent's loop one message at a time)."""

    def __init__(self) -> None:
        self._pending: list[asyncio.Future] = []

    def track(self, table) -> None:
        """Record every future `table.send_changelog` returns (sets and deletes both go through it)."""
        send = table.send_changelog

        def send_and_track(*args, **kwargs):
            future = send(*args, **kwargs)
            self._pending.append(future)
            return future

        # An instance attribute: faust's own `_send_changelog` calls `self.send_changelog`.
        table.send_changelog = send_and_track

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def settle(self) -> None:
        """Return once the broker acknowledged every write tracked so far; a failed write raises (the agent crashes,
        its message stays unacknowledged and is read again after the restart)."""
        while self._pending:
            pending, self._pending = self._pending, []
            await asyncio.gather(*pending)
