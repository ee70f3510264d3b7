"""k-anonymity agent: batches → per-cell state in a faust table (changelog-backed) → window release on watermark.

State keys (bytes, raw serializer), all carrying the source partition so each worker releases only its own:
  c|<partition>|<window ms>|<cell json>  → {"e": events, "u": [subjects], "b": [batch ids applied]}
  wm|<partition>|<raw partition>         → highest event-time bucket seen from that raw-topic partition (ms)
  wmctl|<partition>                      → watermark forced by a control message (end of a finite run)
  closed|<partition>                     → windows ending at or before this (ms) are released
  rel|<partition>|<window ms>            → batch ids counted in that released window (kept for a while)
Applying a batch is idempotent (its id is recorded per cell), so a replay after a crash counts nothing twice;
a release is deterministic and written under a deterministic batch id, so a re-release overwrites itself.
A release first waits until its outputs are acknowledged by the broker and only then deletes the window's state:
a crash in between re-releases the same rows (idempotent), never loses them. A replayed batch that reaches an
already released window is recognized by its id (the `rel|` record) and not counted again, not even as late.

The watermark of a partition is the minimum, over the raw-topic partitions that fed it, of the newest event time
each has delivered (as in Flink): raw partitions are consumed at different speeds, and the maximum would close
windows that a slower partition is still filling. A raw partition that has delivered nothing holds windows open
until it does, or until a control message advances the watermark (`anonpipe close-windows`).
"""

from __future__ import annotations

import logging
from collections import defaultdict

import orjson

from pipeline.kanon.core import CellState, late_table, pre_aggregate, release_tables, release_window
from pipeline.observability.metrics import PipelineMetrics
from pipeline.policy.loader import CompiledPolicy
from pipeline.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_CONTROL, decode_table, encode_table, header

log = logging.getLogger(__name__)


# How many released windows keep their batch ids, to recognize replays (48 one-hour windows = two days).
RELEASED_WINDOWS_REMEMBERED = 48


async def deliver(topic, payload: bytes, batch_id: str) -> None:
    """Send now (not attached to the source event) and wait for the broker's acknowledgement."""
    pending = await topic.send(value=payload, headers=[(HEADER_BATCH_ID, batch_id.encode())], force=True)
    await pending


def time_column(policy: CompiledPolicy) -> str:
    for op in policy.operators:
        if op.name == "time_bucket":
            return op.output
    raise ValueError("the k-anonymity stage needs a time_bucket operator on occurred_at in the policy")


def control_message(watermark_ms: int) -> bytes:
    """Advance the event-time watermark of a partition (used to close the last windows of a finite run)."""
    return orjson.dumps({"watermark_ms": int(watermark_ms)})


def source_of(batch_id: str) -> str:
    """The raw-topic partition a batch came from ("r003-…" → "3"); other producers count as one source."""
    if batch_id[:1] == "r" and batch_id[1:4].isdigit():
        return str(int(batch_id[1:4]))
    return "other"


class KAnonState:
    """Typed access to the faust table holding the windows of the partitions this worker owns."""

    def __init__(self, table, sources: list[str]):
        self.table = table
        self.sources = sources  # raw-topic partitions that feed every partition (missing ones hold windows open)
        self.index: dict[int, dict[int, set[bytes]]] = {}  # partition → window → cell keys (rebuilt on demand)
        self.source_marks: dict[int, dict[str, int]] = {}  # partition → raw partition → newest time (ms)
        self.released: dict[int, dict[int, set[str]]] = {}  # partition → released window → batch ids in it

    def reset_index(self, *_args, **_kwargs) -> None:
        self.index.clear()
        self.source_marks.clear()
        self.released.clear()

    def windows(self, partition: int) -> dict[int, set[bytes]]:
        if partition not in self.index:
            found: dict[int, set[bytes]] = defaultdict(set)
            marks: dict[str, int] = {}
            prefix, mark_prefix = f"c|{partition}|".encode(), f"wm|{partition}|".encode()
            for key in list(self.table.keys()):
                if key.startswith(prefix):
                    found[int(key.split(b"|", 3)[2])].add(key)
                elif key.startswith(mark_prefix):
                    marks[key[len(mark_prefix):].decode()] = int(self.table[key])
            self.index[partition] = found
            self.source_marks[partition] = marks
        return self.index[partition]

    def _int(self, key: str) -> int:
        value = self.table.get(key.encode())
        return int(value) if value else 0

    def watermark(self, partition: int) -> int:
        self.windows(partition)
        marks = self.source_marks[partition]
        slowest = min(marks.get(source, 0) for source in self.sources) if self.sources else 0
        return max(slowest, self._int(f"wmctl|{partition}"))

    def advance_source(self, partition: int, source: str, newest_ms: int) -> None:
        self.windows(partition)
        marks = self.source_marks[partition]
        if newest_ms > marks.get(source, 0):
            marks[source] = newest_ms
            self.set_int(f"wm|{partition}|{source}", newest_ms)

    def closed(self, partition: int) -> int:
        return self._int(f"closed|{partition}")

    def set_int(self, key: str, value: int) -> None:
        self.table[key.encode()] = str(int(value)).encode()

    def apply(self, partition: int, window: int, cell: tuple, update: CellState, batch_id: str) -> None:
        key = b"c|%d|%d|" % (partition, window) + orjson.dumps(list(cell))
        current = self.table.get(key)
        value = orjson.loads(current) if current else {"e": 0, "u": [], "b": []}
        if batch_id in value["b"]:
            return  # replayed batch: already counted
        value["e"] += update.events
        value["u"] = sorted(set(value["u"]) | update.subjects)
        value["b"].append(batch_id)
        self.table[key] = orjson.dumps(value)
        self.windows(partition)[window].add(key)

    def take_window(self, partition: int, window: int) -> dict[tuple, CellState]:
        cells = {}
        for key in sorted(self.windows(partition).get(window, ())):
            raw = self.table.get(key)
            if raw is None:
                continue
            value = orjson.loads(raw)
            cells[tuple(orjson.loads(key.split(b"|", 3)[3]))] = CellState(value["e"], set(value["u"]))
        return cells

    def drop_window(self, partition: int, window: int) -> None:
        for key in self.windows(partition).pop(window, ()):
            if key in self.table:
                del self.table[key]

    def batch_ids(self, partition: int, window: int) -> set[str]:
        ids: set[str] = set()
        for key in self.windows(partition).get(window, ()):
            raw = self.table.get(key)
            if raw is not None:
                ids.update(orjson.loads(raw)["b"])
        return ids

    def remember_release(self, partition: int, window: int, batch_ids: set[str], keep_after_ms: int) -> None:
        self.table[b"rel|%d|%d" % (partition, window)] = orjson.dumps(sorted(batch_ids))
        self.released.setdefault(partition, {})[window] = batch_ids
        for old in [w for w in self.released[partition] if w < keep_after_ms]:
            self.released[partition].pop(old)
            self.table.pop(b"rel|%d|%d" % (partition, old), None)

    def was_counted(self, partition: int, window: int, batch_id: str) -> bool:
        released = self.released.setdefault(partition, {})
        if window not in released:
            raw = self.table.get(b"rel|%d|%d" % (partition, window))
            released[window] = set(orjson.loads(raw)) if raw else set()
        return batch_id in released[window]


def register(app, topics, policy: CompiledPolicy, partitions: int, metrics=None) -> None:
    metrics = metrics or PipelineMetrics()
    config = policy.policy.kanon
    size_ms = config.window.size_seconds * 1000
    grace_ms = config.window.grace_seconds * 1000
    time_col = time_column(policy)
    table = app.Table("kanon-cells", default=None, key_type=bytes, value_type=bytes, partitions=partitions)
    state = KAnonState(table, [str(p) for p in range(partitions)])
    app.on_partitions_revoked.connect(state.reset_index)
    app.on_partitions_assigned.connect(state.reset_index)

    async def release_due(partition: int) -> None:
        watermark = state.watermark(partition)
        closed = state.closed(partition)
        for window in sorted(state.windows(partition)):
            if window + size_ms + grace_ms > watermark:
                break
            cells = state.take_window(partition, window)
            by_value: dict[str, dict] = defaultdict(dict)
            for cell, cell_state in cells.items():
                by_value[cell[0]][cell] = cell_state
            releases = [release_window(group, config) for _, group in sorted(by_value.items())]
            aggregates, stats = release_tables(window, releases, config, policy.version, partition)
            batch = f"w{window}-p{partition:03d}"
            if aggregates.num_rows:
                await deliver(topics.aggregates, encode_table(aggregates), f"agg-{batch}")
            await deliver(topics.window_stats, encode_table(stats), f"stats-{batch}")
            metrics.record_release(stats)
            state.remember_release(partition, window, state.batch_ids(partition, window),
                                   keep_after_ms=window - RELEASED_WINDOWS_REMEMBERED * size_ms)
            state.drop_window(partition, window)
            closed = max(closed, window + size_ms)
            state.set_int(f"closed|{partition}", closed)
            log.info("released window %s partition %d: %d cells published", window, partition, aggregates.num_rows)

    @app.agent(topics.pseudonymized, name="kanon")
    async def kanon(stream):
        async for event in stream.events():
            partition = event.message.partition
            if header(event.headers, HEADER_KIND) == KIND_CONTROL:
                mark = orjson.loads(event.value).get("watermark_ms", 0)
                if mark > state._int(f"wmctl|{partition}"):
                    state.set_int(f"wmctl|{partition}", mark)
                await release_due(partition)
                continue
            batch_id = (header(event.headers, HEADER_BATCH_ID) or b"").decode() or f"o{event.message.offset}"
            batch = decode_table(event.value)
            if batch.num_rows == 0:
                continue
            closed = state.closed(partition)
            late: dict[int, int] = defaultdict(int)
            with metrics.time_batch("kanon"):
                for (window, cell), update in pre_aggregate(batch, config, time_col).items():
                    if window + size_ms <= closed:
                        if not state.was_counted(partition, window, batch_id):
                            late[window] += update.events
                    else:
                        state.apply(partition, window, cell, update, batch_id)
            if late:
                await topics.window_stats.send(value=encode_table(late_table(late, config, policy.version, partition)),
                                               headers=[(HEADER_BATCH_ID, f"late-{batch_id}".encode())])
                metrics.record_late(sum(late.values()))
            newest = int(batch.column(time_col).cast("int64").to_numpy().max())
            state.advance_source(partition, source_of(batch_id), newest)
            metrics.record_watermark(state.watermark(partition))
            await release_due(partition)
