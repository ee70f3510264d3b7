"""Sink agents: internal topics → lake zones and the restricted DLQ folder.

Delivery guarantee: exactly-once rows on disk under at-least-once delivery. Each message is written (file and
directory fsynced) before the agent takes the next one, so faust commits its offset only after the file is
durable; the file name is the message's batch id, derived from the raw topic's partition and offset, so a
replayed or re-produced message rewrites the same file instead of adding rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lake.compaction import is_compacted
from pipeline.lake.layout import AGGREGATES, DATE_COLUMN, PSEUDONYMIZED, WINDOW_STATS, batch_file_name, dlq_dir
from pipeline.lake.object_store import ObjectStoreLake
from pipeline.lake.writer import remove_stale_temp_files, write_atomic, write_batch
from pipeline.observability.metrics import PipelineMetrics
from pipeline.validate.rejects import decode_rejects
from pipeline.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_CONTROL, decode_table, header

log = logging.getLogger(__name__)


def with_batch_id(table: pa.Table, batch_id: str) -> pa.Table:
    return table.append_column("batch_id", pa.array([batch_id] * table.num_rows, type=pa.string()))


def write_dlq(data_dir: Path, payload: bytes, batch_id: str) -> Path:
    """Rejects as NDJSON under dlq/date=…/ with owner-only permissions: they hold raw personal data."""
    root = dlq_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    path = root / f"date={day}" / batch_file_name(batch_id, ".ndjson")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = decode_rejects(payload)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            for line in lines:
                handle.write(orjson.dumps(line) + b"\n")
    write_atomic(path, write, mode=0o600)
    return path


def _batch_id(event) -> str:
    value = header(event.headers, HEADER_BATCH_ID)
    if value:
        return value.decode()
    return f"{event.message.topic.replace('.', '_')}-{event.message.partition:03d}-{event.message.offset:019d}"


def register(app, topics, data_dir: Path, metrics=None, lake_url: str | None = None) -> None:
    """Zones go to `data_dir`/lake, or to `lake_url` (an object store) when given; the DLQ always stays local."""
    metrics = metrics or PipelineMetrics()
    remote = ObjectStoreLake.from_url(lake_url) if lake_url else None
    # Temp files of a crashed writer; only old ones, since other workers may be writing into the same lake.
    removed = remove_stale_temp_files(Path(data_dir))
    if removed:
        log.info("removed %d stale temp files left by a crashed writer", removed)
    def zone_sink(topic, zone: str, name: str):
        @app.agent(topic, name=name)
        async def sink(stream):
            async for event in stream.events():
                if header(event.headers, HEADER_KIND) == KIND_CONTROL:
                    continue
                batch_id = _batch_id(event)
                table = decode_table(event.value)
                if remote is not None:
                    with metrics.time_batch(f"sink_{zone}"):
                        remote.write_batch(zone, with_batch_id(table, batch_id), batch_id)
                    metrics.record_sink(zone, table.num_rows)
                    continue
                dates = pc.unique(table.column(DATE_COLUMN)).to_pylist() if table.num_rows else []
                if dates and all(is_compacted(data_dir, zone, day, batch_id) for day in dates):
                    continue  # replay of a batch already merged by `anonpipe lake compact`
                with metrics.time_batch(f"sink_{zone}"):
                    write_batch(data_dir, zone, with_batch_id(table, batch_id), batch_id)
                metrics.record_sink(zone, table.num_rows)
        return sink

    zone_sink(topics.pseudonymized, PSEUDONYMIZED, "sink-pseudonymized")
    zone_sink(topics.aggregates, AGGREGATES, "sink-aggregates")
    zone_sink(topics.window_stats, WINDOW_STATS, "sink-window-stats")

    @app.agent(topics.dlq, name="sink-dlq")
    async def dlq_sink(stream):
        async for event in stream.events():
            write_dlq(data_dir, event.value, _batch_id(event))
