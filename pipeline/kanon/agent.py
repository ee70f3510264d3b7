"""k-anonymity agent: pseudonymized batches → window state (pipeline/kanon/state.py) → release on watermark.

A release first waits until its outputs are acknowledged by the broker and only then deletes the window's state:
a crash in between re-releases the same rows under the same batch ids (idempotent), never loses them. A window is
final once due (end + grace behind the watermark): events reaching it later are late, also while a crashed
release is pending, so the re-release is identical (KAnonState.absorb). A replayed batch that reaches an already
released window is recognized (the `rel|` record) and not counted again, not even as late. Replays are recognised
by the source positions of their rows (pipeline/common/positions.py), however the ingest stage batched them.

People are linked (pipeline/linkage.py) over the whole window of the stage partition at release. Window stats go
out with every count that would cover fewer than k people withheld (pipeline/kanon/stats.py); the exact figures
only reach the metrics.

The watermark of a partition is the minimum, over the raw-topic partitions that fed it, of the newest event time
each has delivered (as in Flink): raw partitions are consumed at different speeds, and the maximum would close
windows that a slower partition is still filling. A raw partition that has delivered nothing holds windows open
until it does, or until a control message advances the watermark (`anonpipe close-windows`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

import orjson

from pipeline.common.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_CONTROL, decode_table, encode_table, header
from pipeline.kanon.core import link_people, pre_aggregate, release_window
from pipeline.kanon.stats import late_table, release_tables, withhold
from pipeline.kanon.state import KAnonState, batch_source
from pipeline.observability.metrics import PipelineMetrics
from pipeline.policy.loader import CompiledPolicy
from pipeline.resilience.changelog_acks import ChangelogAcks

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


def dp_ledger(config, policy_version: str, data_dir):
    """The budget ledger of a DP release mode (None for k-anonymity, which spends no budget).

    pipeline/dp/ (and OpenDP, ~16 MB of RSS) is imported only by a worker whose policy asks for a DP release."""
    if config.release == "k_anonymity":
        return None
    if data_dir is None:
        raise ValueError(f"kanon.release: {config.release} needs the data dir for its budget ledger")
    from pipeline.dp.ledger import BudgetLedger
    return BudgetLedger(data_dir, config.dp.epsilon_per_period, config.dp.period, policy_version)


def time_column(policy: CompiledPolicy) -> str:
    for op in policy.operators:
        if op.name == "time_bucket":
            return op.output
    raise ValueError("the k-anonymity stage needs a time_bucket operator on occurred_at in the policy")


def control_message(watermark_ms: int) -> bytes:
    """Advance the event-time watermark of a partition (used to close the last windows of a finite run)."""
    return orjson.dumps({"watermark_ms": int(watermark_ms)})


def register(app, topics, policy: CompiledPolicy, partitions: int, metrics=None, raw_partitions: int | None = None,
             data_dir=None) -> None:
    """`partitions`: of the pseudonymized topic (and so of the table); `raw_partitions`: the watermark's sources;
    `data_dir`: where a DP release (`kanon.release: dp | both`) keeps its budget ledger."""
    metrics = metrics or PipelineMetrics()
    config = policy.policy.kanon
    ledger = dp_ledger(config, policy.version, data_dir)
    if ledger is not None:
        from pipeline.dp import stream as dp_stream
    size_ms = config.window.size_seconds * 1000
    grace_ms = config.window.grace_seconds * 1000
    time_col = time_column(policy)
    table = app.Table("kanon-cells", default=None, key_type=bytes, value_type=bytes, partitions=partitions)
    state = KAnonState(table, [str(p) for p in range(raw_partitions or partitions)])
    # Each message is acknowledged (so its offset committable) only after its table writes are in the changelog.
    changelog = ChangelogAcks()
    changelog.track(table)
    app.on_partitions_revoked.connect(state.reset)
    app.on_partitions_assigned.connect(state.reset)

    def aggregate(rows) -> dict[int, dict]:
        by_window: dict[int, dict] = defaultdict(dict)
        for (window, cell), update in pre_aggregate(rows, config, time_col).items():
            by_window[window][cell] = update
        return by_window

    async def release_due(partition: int) -> None:
        if state.drop_released_leftovers(partition, size_ms):
            log.warning("partition %d: discarded leftover cells of already released windows (crash recovery)",
                        partition)
        watermark = state.watermark(partition)
        closed = state.closed(partition)
        windows = sorted(state.windows(partition))
        if ledger is not None:  # DP: empty windows too (pipeline/dp/stream.py says why)
            windows = dp_stream.due_windows(windows, closed, size_ms)
        for window in windows:
            if window + size_ms + grace_ms > watermark:
                break
            cells, offsets = state.take_window(partition, window)
            # Named by what the release counted (and the policy): a re-release after a crash repeats the same ids,
            # a window of another run, topic incarnation or policy version never collides with this one.
            batch = f"w{window}-p{partition:03d}-{release_digest(offsets, policy.version)}"
            if ledger is None:
                by_value: dict[str, dict] = defaultdict(dict)
                for cell, cell_state in link_people(cells).items():
                    by_value[cell[0]][cell] = cell_state
                releases = [release_window(group, config) for _, group in sorted(by_value.items())]
                aggregates, stats = release_tables(window, releases, config, policy.version, partition)
                metrics.record_release(stats)
                stats = withhold(stats, config.k)
            else:  # DP: charged to the ledger first; None when the period's budget is spent (logged there)
                released = dp_stream.release_window(window, cells, config, policy.version, partition, partitions,
                                                    ledger)  # links people itself
                aggregates, stats = released.aggregates, released.stats
            if aggregates is not None and aggregates.num_rows:
                await deliver(topics.aggregates, encode_table(aggregates), f"agg-{batch}")
            if stats is not None:
                await deliver(topics.window_stats, encode_table(stats), f"stats-{batch}")
            closed = max(closed, window + size_ms)
            state.finish_release(partition, window, offsets, closed,
                                 forget_before_ms=window - RELEASED_WINDOWS_REMEMBERED * size_ms)
            log.info("released window %s partition %d: %d cells published", window, partition,
                     aggregates.num_rows if aggregates is not None else 0)

    @app.agent(topics.pseudonymized, name="kanon")
    async def kanon(stream):
        async for event in stream.events():
            partition = event.message.partition
            if header(event.headers, HEADER_KIND) == KIND_CONTROL:
                state.force_watermark(partition, orjson.loads(event.value).get("watermark_ms", 0))
                await release_due(partition)
                await changelog.settle()
                continue
            batch_id = (header(event.headers, HEADER_BATCH_ID) or b"").decode()
            batch = decode_table(event.value)
            if batch.num_rows == 0:
                continue
            stream, source, lo, hi, positions = batch_source(batch_id, batch, event.message.offset)
            with metrics.time_batch("kanon"):
                row_windows = (batch.column(time_col).cast("int64").to_numpy() // size_ms) * size_ms
                late = state.absorb(partition, batch, row_windows, positions, stream, lo, hi, size_ms, grace_ms,
                                    aggregate)
            if late:
                events = {w: sum(u.events for u in cells.values()) for w, cells in late.items()}
                people = [len(set().union(*(c.subjects for c in link_people(late[w]).values()))) for w in sorted(late)]
                rows = withhold(late_table(events, config, policy.version, partition), config.k, people)
                # acknowledged before the message is: a replay does not count these rows late again (absorb)
                await deliver(topics.window_stats, encode_table(rows), f"late-{batch_id or lo}")
                metrics.record_late(sum(events.values()))
            newest = int(batch.column(time_col).cast("int64").to_numpy().max())
            state.advance_source(partition, source, newest)
            metrics.record_watermark(state.watermark(partition))
            await release_due(partition)
            await changelog.settle()
