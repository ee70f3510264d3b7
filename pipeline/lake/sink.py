"""Sink agents: internal topics → lake zones (buffered, exactly-once files) and the restricted DLQ folder.

Delivery guarantee: exactly-once rows on disk under at-least-once delivery. A zone sink takes up to
`flush_messages` messages (or 250k rows) or whatever arrived within `flush_seconds` (pipeline/lake/sink_buffer.py),
writes them as one file per date partition (file and folder fsynced), and only then acknowledges those messages,
so faust commits their offsets after the file is durable. Each file's footer names the source positions it holds
(ranges per raw partition, pipeline/positions.py), and the writer leaves out rows a partition already holds: a
redelivered message, or a replay the ingest stage gathered into other batches, adds no rows. The DLQ sink writes
one NDJSON file per message, named by the source range it claims, and leaves out dead letters whose position a
DLQ file already claims (pipeline/lake/dlq.py): exactly-once by source position too.
On SIGTERM and at a rebalance faust waits for acknowledgements and the buffer is written within `flush_seconds`;
after a kill -9 it is simply unacknowledged, and the next owner of the partition reads it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from pipeline.common.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_CONTROL, decode_table, header
from pipeline.lake.dlq import DlqLedger, write_dlq
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS
from pipeline.lake.object_store import ObjectStoreLake
from pipeline.lake.rollover import SinkMessage
from pipeline.lake.sink_buffer import SinkBuffer
from pipeline.lake.writer import remove_stale_temp_files
from pipeline.lake.zone_writer import ZoneWriter
from pipeline.observability.metrics import PipelineMetrics

DEFAULT_FLUSH_MESSAGES = 200
DEFAULT_FLUSH_SECONDS = 2.0

log = logging.getLogger(__name__)


def _batch_id(event) -> str:
    value = header(event.headers, HEADER_BATCH_ID)
    if value:
        return value.decode()
    return f"{event.message.topic.replace('.', '_')}-{event.message.partition:03d}-{event.message.offset:019d}"


class ZoneSink:
    """The agent writing one internal topic into one lake zone: buffer, write, then acknowledge.

    Acks are ours: faust commits an offset only when every agent on the topic acknowledged it, and this agent
    does so only after the file holding the message is durable. (faust's take_events() was tried first: while a
    stopping or rebalancing consumer waits for acks it never yields its buffer, so shutdown waited 20 s. A plain
    task on the event loop keeps flushing then.)
    """

    def __init__(self, writer: ZoneWriter, zone: str, flush_messages: int, flush_seconds: float,
                 metrics: PipelineMetrics):
        self.writer, self.zone, self.metrics = writer, zone, metrics
        self.flush_messages, self.flush_seconds = flush_messages, flush_seconds
        self.failing_since: float | None = None  # one log line when writes start failing, one when they recover

    async def consume(self, stream) -> None:
        manual = stream.noack()
        pending = SinkBuffer(self.flush_messages, self.flush_seconds)
        ticker = asyncio.ensure_future(self._flush_when_due(pending, manual))
        try:
            async for event in manual.events():
                control = header(event.headers, HEADER_KIND) == KIND_CONTROL
                pending.add(event, None if control else SinkMessage(_batch_id(event), decode_table(event.value)))
                if pending.full():
                    await self.flush(pending, manual)
        finally:
            ticker.cancel()

    async def _flush_when_due(self, pending: SinkBuffer, manual) -> None:
        while True:
            await asyncio.sleep(min(0.25, self.flush_seconds / 2))
            if pending.due():
                await self.flush(pending, manual)

    async def flush(self, pending: SinkBuffer, manual) -> None:
        events, messages = pending.take()
        if messages:
            try:
                with self.metrics.time_batch(f"sink_{self.zone}"):
                    planned = self.writer.write(messages)
            except Exception as exc:  # disk full, object store down: keep the rows, retry next tick
                pending.put_back(events, messages)
                self._failing(exc, len(messages))
                return
            if self.failing_since is not None:
                log.warning("lake sink %s writes again after %.0fs", self.zone, time.monotonic() - self.failing_since)
                self.failing_since = None
            self.metrics.record_sink(self.zone, sum(file.table.num_rows for file in planned))
        for event in events:
            await manual.ack(event)

    def _failing(self, exc: Exception, held: int) -> None:
        if self.failing_since is not None:
            return
        self.failing_since = time.monotonic()
        # The type and errno text only: a message could quote data it failed on.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else ""
        log.error("lake sink %s cannot write (%s%s); holding %d messages unacknowledged and retrying", self.zone,
                  type(exc).__name__, f": {reason}" if reason else "", held)


def register(app, topics, data_dir: Path, metrics=None, lake_url: str | None = None,
             flush_messages: int = DEFAULT_FLUSH_MESSAGES, flush_seconds: float = DEFAULT_FLUSH_SECONDS) -> None:
    """Zones go to `data_dir`/lake, or to `lake_url` (an object store) when given; the DLQ always stays local."""
    if flush_messages < 1 or flush_seconds <= 0:
        raise ValueError("sink flush settings must be positive (messages ≥ 1, seconds > 0)")
    metrics = metrics or PipelineMetrics()
    remote = ObjectStoreLake.from_url(lake_url) if lake_url else None
    # Temp files of a crashed writer; only old ones, since other workers may be writing into the same lake.
    removed = remove_stale_temp_files(Path(data_dir))
    if removed:
        log.info("removed %d stale temp files left by a crashed writer", removed)
    for topic, zone, name in ((topics.pseudonymized, PSEUDONYMIZED, "sink-pseudonymized"),
                              (topics.aggregates, AGGREGATES, "sink-aggregates"),
                              (topics.window_stats, WINDOW_STATS, "sink-window-stats")):
        sink = ZoneSink(ZoneWriter(Path(data_dir), zone, remote), zone, flush_messages, flush_seconds, metrics)
        app.agent(topic, name=name)(sink.consume)

    dlq_ledger = DlqLedger(Path(data_dir))

    @app.agent(topics.dlq, name="sink-dlq")
    async def dlq_sink(stream):
        async for event in stream.events():
            write_dlq(data_dir, event.value, _batch_id(event), dlq_ledger)
