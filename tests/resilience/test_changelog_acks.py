"""A table change must be in the changelog before the message that caused it is acknowledged: faust's own flush
before a commit does not wait for slow sends (the kill -9 aggregates bug). Real faust app, table and producer
buffer; only the hand-over to the Kafka client is replaced by a slow send that acknowledges after 0.3 s."""

from __future__ import annotations

import asyncio

import faust

from pipeline.resilience.changelog_acks import ChangelogAcks

SEND_SECONDS = 0.3


async def table_with_slow_broker():
    app = faust.App("test-changelog-acks", broker="kafka://127.0.0.1:9")
    table = app.Table("cells", default=None, key_type=bytes, value_type=bytes, partitions=1)
    buffer = app.producer.buffer

    async def slow_send(future):  # the broker acknowledges each write after SEND_SECONDS
        await asyncio.sleep(SEND_SECONDS)
        future.set_result(None)

    buffer._send_pending = slow_send
    await buffer.start()
    return app, table, buffer


def test_settle_returns_only_once_every_tracked_write_is_acknowledged():
    async def scenario():
        _app, table, buffer = await table_with_slow_broker()
        acks = ChangelogAcks()
        acks.track(table)
        writes = [table.send_changelog(0, b"d|0|%d" % i, b"{}") for i in range(3)]
        assert acks.pending == 3
        settling = asyncio.ensure_future(acks.settle())
        await asyncio.sleep(SEND_SECONDS * 1.5)
        assert not settling.done()  # one of three acknowledged so far
        await settling
        assert all(write.done() for write in writes) and acks.pending == 0
        await buffer.stop()
    asyncio.run(scenario())


def test_a_failed_write_raises_from_settle():
    async def scenario():
        _app, table, buffer = await table_with_slow_broker()

        async def failing_send(future):
            future.set_exception(RuntimeError("broker refused the write"))

        buffer._send_pending = failing_send
        acks = ChangelogAcks()
        acks.track(table)
        table.send_changelog(0, b"d|0|1", b"{}")
        try:
            await acks.settle()
        except RuntimeError as exc:
            assert "refused" in str(exc)
        else:
            raise AssertionError("settle() returned although the write failed")
        await buffer.stop()
    asyncio.run(scenario())


def test_faust_flush_returns_with_writes_still_buffered():
    """Why the module exists (fails if a faust upgrade makes flush wait for every buffered write)."""
    async def scenario():
        _app, table, buffer = await table_with_slow_broker()
        writes = [table.send_changelog(0, b"d|0|%d" % i, b"{}") for i in range(3)]
        await buffer.flush()  # what Consumer._commit_offsets awaits before committing
        assert not all(write.done() for write in writes)
        await asyncio.gather(*writes)
        await buffer.stop()
    asyncio.run(scenario())
