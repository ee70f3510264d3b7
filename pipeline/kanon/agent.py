"""k-anonymity agent: pseudonymized batches → window state (pipeline/kanon/state.py) → release on watermark.

A release first waits until its outputs are acknowledged by the broker and only then deletes the window's state:
a crash in between re-releases the same rows under the same batch ids (idempotent), never loses them. A replayed
batch that reaches an already released window is recognized (the `rel|` record) and not counted again, not
even as late.

The watermark of a partition is the minimum, over the raw-topic partitions that fed it, of the newest event time
each has delivered (as in Flink): raw partitions are consumed at different speeds, and the maximum would close
windows that a slower partition is still filling. A raw partition that has delivered nothing holds windows open
until it does, or until a control message advances the watermark (`anonpipe close-windows`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

import numpy as np
import orjson
import pyarrow as pa

from pipeline.common.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_CONTROL, decode_table, encode_table, header
from pipeline.kanon.core import late_table, pre_aggregate, release_tables, release_window
from pipeline.kanon.state import KAnonState, batch_source
from pipeline.observability.metrics import PipelineMetrics
from pipeline.policy.loader import CompiledPolicy

log = logging.getLogger(__name__)


# How many released windows keep their batch ids, to recognize replays (48 one-hour windows = two days).
RELEASED_WINDOWS_REMEMBERED = 48


async def deliver(topic, payload: bytes, batch_id: str) -> None:
    """Send now (not attached to the source event) and wait for the broker's acknowledgement."""
    pending = await topic.send(value=payload, headers=[(HEADER_BATCH_ID, batch_id.encode())], force=True)
    await pending


def release_digest(counted: dict, policy_version: str) -> str:
    """Short digest of the positions a release counted and the policy version that made it."""
    text = policy_version + "|" + "|".join(f"{stream}:{list(ranges)}" for stream, ranges in sorted(counted.items()))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def time_column(policy: CompiledPolicy) -> str:
    for op in policy.operators:
        if op.name == "time_bucket":
            return op.output
    raise ValueError("the k-anonymity stage needs a time_bucket operator on occurred_at in the policy")


def control_message(watermark_ms: int) -> bytes:
    """Advance the event-time watermark of a partition (used to close the last windows of a finite run)."""
    return orjson.dumps({"watermark_ms": int(watermark_ms)})


def register(app, topics, policy: CompiledPolicy, partitions: int, metrics=None, raw_partitions: int | None = None) -> None:
    """`partitions`: of the pseudonymized topic (and so of the table); `raw_partitions`: the watermark's sources."""
    metrics = metrics or PipelineMetrics()
    config = policy.policy.kanon
    size_ms = config.window.size_seconds * 1000
    grace_ms = config.window.grace_seconds * 1000
    time_col = time_column(policy)
    table = app.Table("kanon-cells", default=None, key_type=bytes, value_type=bytes, partitions=partitions)
    state = KAnonState(table, [str(p) for p in range(raw_partitions or partitions)])
    app.on_partitions_revoked.connect(state.reset)
    app.on_partitions_assigned.connect(state.reset)

    async def release_due(partition: int) -> None:
        if state.drop_released_leftovers(partition, size_ms):
            log.warning("partition %d: discarded leftover cells of already released windows (crash recovery)",
                        partition)
        watermark = state.watermark(partition)
        closed = state.closed(partition)
        for window in sorted(state.windows(partition)):
            if window + size_ms + grace_ms > watermark:
                break
            cells, offsets = state.take_window(partition, window)
            by_value: dict[str, dict] = defaultdict(dict)
            for cell, cell_state in cells.items():
                by_value[cell[0]][cell] = cell_state
            releases = [release_window(group, config) for _, group in sorted(by_value.items())]
            aggregates, stats = release_tables(window, releases, config, policy.version, partition)
            # Named by what the release counted (and the policy): a re-release after a crash repeats the same ids,
            # a window of another run, topic incarnation or policy version never collides with this one.
            batch = f"w{window}-p{partition:03d}-{release_digest(offsets, policy.version)}"
            if aggregates.num_rows:
                await deliver(topics.aggregates, encode_table(aggregates), f"agg-{batch}")
            await deliver(topics.window_stats, encode_table(stats), f"stats-{batch}")
            metrics.record_release(stats)
            closed = max(closed, window + size_ms)
            state.finish_release(partition, window, offsets, closed,
                                 forget_before_ms=window - RELEASED_WINDOWS_REMEMBERED * size_ms)
            log.info("released window %s partition %d: %d cells published", window, partition, aggregates.num_rows)

    @app.agent(topics.pseudonymized, name="kanon")
    async def kanon(stream):
        async for event in stream.events():
            partition = event.message.partition
            if header(event.headers, HEADER_KIND) == KIND_CONTROL:
                state.force_watermark(partition, orjson.loads(event.value).get("watermark_ms", 0))
                await release_due(partition)
                continue
            batch_id = (header(event.headers, HEADER_BATCH_ID) or b"").decode()
            batch = decode_table(event.value)
            if batch.num_rows == 0:
                continue
            source_stream, source, lo, hi, positions = batch_source(batch_id, batch, event.message.offset)
            closed = state.closed(partition)
            late: dict[int, int] = defaultdict(int)
            with metrics.time_batch("kanon"):
                row_windows = (batch.column(time_col).cast("int64").to_numpy() // size_ms) * size_ms
                for window in np.unique(row_windows).tolist():
                    in_window = row_windows == window
                    if window + size_ms <= closed:
                        fresh = in_window.copy()
                        fresh[in_window] = state.not_counted(partition, window, source_stream, positions[in_window])
                        if fresh.any():
                            late[window] += int(fresh.sum())  # rows its release did not count, not replays
                            state.count_late(partition, window, source_stream, lo, hi)
                        continue
                    fresh = in_window.copy()
                    fresh[in_window] = ~state.counted(partition, window, source_stream).covers(positions[in_window])
                    rows = batch if fresh.all() else batch.filter(pa.array(fresh))
                    updates = {cell: update for (_, cell), update in pre_aggregate(rows, config, time_col).items()}
                    state.apply(partition, window, updates, source_stream, lo, hi)
            if late:
                late_id = f"late-{batch_id or event.message.offset}".encode()
                await topics.window_stats.send(value=encode_table(late_table(late, config, policy.version, partition)),
                                               headers=[(HEADER_BATCH_ID, late_id)])
                metrics.record_late(sum(late.values()))
            newest = int(batch.column(time_col).cast("int64").to_numpy().max())
            state.advance_source(partition, source, newest)
            metrics.record_watermark(state.watermark(partition))
            await release_due(partition)
