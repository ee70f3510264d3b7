"""Workaround for a faust rebalance race that silently drops records of newly assigned partitions (issue 9)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def keep_records_across_recovery(app) -> None:
    """Make the end of a table recovery lose no record (faust-streaming 0.15.3; upstream faust-streaming/faust#596).

    After a rebalance, `faust.tables.recovery.Recovery.on_recovery_completed` resumes the stream partitions while the
    consumer flow is still running (it was resumed to read the changelogs), then awaits `perform_seek()`, and only then
    calls `app.flow_control.resume()`, which empties every agent's queue. Records the fetcher delivers during that
    await are thrown away, yet faust has already recorded their read offsets, so the re-fetch after the seek skips
    them. The fetcher also discards records it drained while a partition was paused or the flow stopped, counting on
    `perform_seek()` to rewind -- but `perform_seek()` only rewinds partitions that have a committed offset: a partition
    whose previous owner died before its first commit stays past them. Seen in the three-worker kill test: the worker
    that took over raw partition 3 (no committed offset) sat at position 2 having processed nothing, and the queue
    clear dropped pseudonymized records that faust then skipped, so events never landed and no error was logged.

    Two local fixes: stop the consumer flow when the recovery completes (`on_rebalance_complete` is sent first, and
    `on_recovery_completed` resumes the flow itself after the queues are cleared), so nothing is delivered into the
    queues that are about to be emptied; and let the seek also rewind partitions without a committed offset to the
    `consumer_auto_offset_reset` position, as a fresh assignment would. Replays this causes are harmless: every sink
    and the k-anonymity state are idempotent by batch id.
    """

    @app.on_rebalance_complete.connect
    async def hold_flow_until_seeked(sender, **_kwargs) -> None:
        consumer = app.consumer
        consumer.stop_flow()
        if not getattr(consumer, "_anonpipe_rewinds_uncommitted", False):
            consumer.seek_to_committed = _seek_to_committed_or_reset(app, consumer)
            consumer._anonpipe_rewinds_uncommitted = True


def _seek_to_committed_or_reset(app, consumer):
    original = consumer.seek_to_committed
    policy = app.conf.consumer_auto_offset_reset

    async def seek_to_committed():
        committed = await original()
        changelogs = app.tables.changelog_topics  # positioned by the recovery itself, never committed
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if uncommitted and policy in ("earliest", "latest"):
            thread = consumer._thread  # faust's aiokafka driver: the AIOKafkaConsumer lives in this thread
            await thread.call_thread(_rewind, thread._ensure_consumer(), uncommitted, policy == "latest")
        return committed

    return seek_to_committed


async def _rewind(aiokafka_consumer, partitions, to_end: bool) -> None:
    """Seek to explicit offsets, not `seek_to_beginning()`: that leaves the position unset until a later reset, and
    faust's livelock detector then reads it and crashes the consumer (aiokafka asserts the position is set)."""
    lookup = aiokafka_consumer.end_offsets if to_end else aiokafka_consumer.beginning_offsets
    for tp, offset in (await lookup(partitions)).items():
        aiokafka_consumer.seek(tp, offset)
    log.debug("rewound %d partitions without a committed offset", len(partitions))
