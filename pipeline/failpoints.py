"""Fault injection for crash tests: `ANONPIPE_FAILPOINT=name:N` SIGKILLs the process at the N-th hit of `name`."""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    """No-op unless the environment arms this failpoint (tests only; never set in production)."""
    armed = os.environ.get("ANONPIPE_FAILPOINT")
    if not armed:
        return
    target, _, count = armed.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)  # a real crash: no cleanup, no flush, no offset commit


def slow_changelog_sends() -> None:
    """`ANONPIPE_SLOW_CHANGELOG=seconds` delays each table changelog write on its way to the Kafka client (tests
    only): a slow broker for the k-anonymity state, so that a crash test can catch writes still in faust's buffer.
    No-op unless the environment sets it."""
    seconds = float(os.environ.get("ANONPIPE_SLOW_CHANGELOG") or 0)
    if seconds <= 0:
        return
    import asyncio

    from faust.transport.producer import ProducerBuffer
    send_pending = ProducerBuffer._send_pending

    async def send_slowly(self, future):
        if future.message.channel.get_topic_name().endswith("-changelog"):
            await asyncio.sleep(seconds)
        await send_pending(self, future)

    ProducerBuffer._send_pending = send_slowly
