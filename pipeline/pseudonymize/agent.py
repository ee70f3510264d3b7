"""Ingest agent: raw envelope → validate core → pseudonymize core → pseudonymized batches + DLQ (thin I/O shell)."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.rejects import INTERNAL_ERROR, Reject, encode_reject_messages
from pipeline.common.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_DATA, encode_table
from pipeline.keys.ring import KeyRing
from pipeline.observability.metrics import PipelineMetrics
from pipeline.policy.loader import CompiledPolicy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import TimeBounds, validate_batch
from pipeline.validate.envelope import collector_paused, split_envelope_with_bytes

log = logging.getLogger(__name__)


def partition_for(value: str | None, partitions: int) -> int:
    """Stable partition of a partition-column value (crc32, same in every worker and language)."""
    return zlib.crc32((value or "").encode("utf-8")) % partitions


def split_by_partition(table: pa.Table, column: str, partitions: int) -> dict[int, pa.Table]:
    # partition_for once per distinct value (a null counts as one more), spread to the rows by index.
    encoded = table.column(column).combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist() + [None]
    by_value = np.array([partition_for(v, partitions) for v in distinct], dtype=np.int32)
    targets = by_value[pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy(zero_copy_only=False)]
    return {int(p): table.filter(pa.array(targets == p)) for p in np.unique(targets)}


def raw_batch_id(partition: int, offset: int) -> str:
    return f"r{partition:03d}-{offset:019d}"


# Internal messages stay below Kafka's default 1 MB limit: a bigger one fails to send and stalls the partition.
MAX_MESSAGE_BYTES = 768 * 1024


def encoded_chunks(table: pa.Table, max_bytes: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """The table as one Arrow IPC message, or as equal row slices each under `max_bytes` (deterministic)."""
    payload = encode_table(table)
    if len(payload) <= max_bytes or table.num_rows <= 1:
        return [payload]
    pieces = -(-len(payload) // max_bytes) + 1
    while True:
        rows = -(-table.num_rows // pieces)
        chunks = [encode_table(table.slice(start, rows)) for start in range(0, table.num_rows, rows)]
        if all(len(c) <= max_bytes for c in chunks) or rows == 1:
            return chunks
        pieces *= 2


def chunk_ids(batch_id: str, count: int, marker: str) -> list[str]:
    """`batch_id` alone for one chunk, else `batch_id-<marker><n>`: replays cut the same chunks, same names."""
    return [batch_id] if count == 1 else [f"{batch_id}-{marker}{n}" for n in range(count)]


def internal_error_rejects(payload: bytes, source: dict, exc: Exception) -> list[Reject]:
    """One reject per event of an envelope the kernel failed on (so every event stays accounted for).

    Only the exception type is recorded: its message could quote event values.
    """
    reason = f"pipeline error {type(exc).__name__} while processing the envelope"
    try:
        events, bad_lines = split_envelope_with_bytes(payload)
    except Exception:  # noqa: BLE001 - splitting itself failed: keep the envelope whole
        return [Reject(INTERNAL_ERROR, reason, payload, source)]
    rejects = [Reject(INTERNAL_ERROR, reason, raw, source) for _, raw in events]
    for bad in bad_lines:
        bad.source = source
    return rejects + bad_lines


def _where(exc: Exception) -> str:
    """file:line of the innermost frame (code location only, never values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else "?"


def register(app, topics, policy: CompiledPolicy, ring: KeyRing, partitions: int, metrics=None,
             erased=None) -> None:
    """`erased` (pipeline.lake.blocklist.ErasedSubjects): rows of erased people are dropped, never dead-lettered."""
    bounds = TimeBounds(max_age=dt.timedelta(days=policy.policy.validation.max_age_days),
                        max_future=dt.timedelta(minutes=policy.policy.validation.max_future_minutes))
    metrics = metrics or PipelineMetrics()
    services: dict = {}
    partition_column = policy.policy.kanon.partition_column

    async def send_rejects(rejects: list[Reject], batch_id: str) -> None:
        messages = encode_reject_messages(rejects)
        for message, message_id in zip(messages, chunk_ids(batch_id, len(messages), "d")):
            await topics.dlq.send(value=message, headers=[(HEADER_BATCH_ID, message_id.encode())])

    @app.agent(topics.raw, name="ingest")
    async def ingest(stream):
        async for event in stream.events():
            message = event.message
            source = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
            batch_id = raw_batch_id(message.partition, message.offset)
            payload = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
            try:
                with metrics.time_batch("ingest"), collector_paused():
                    valid = validate_batch([(payload, source)], bounds=bounds)
                    result = pseudonymize_batch(valid.events, policy, ring, services, source,
                                                 columns=valid.columns)
                    if erased is not None:
                        result.table, dropped = erased.drop(result.table)
                        if dropped:
                            log.info("envelope %s: %d event(s) of erased people dropped", batch_id, dropped)
                rejects = valid.rejects + result.rejects
            except Exception as exc:  # a poison message must not stop the worker: dead-letter its events
                log.error("envelope %s failed in the kernel (%s at %s); its events were dead-lettered",
                          batch_id, type(exc).__name__, _where(exc))
                await send_rejects(internal_error_rejects(payload, source, exc), batch_id)
                continue
            for dest, part in split_by_partition(result.table, partition_column, partitions).items():
                chunks = encoded_chunks(part)
                for chunk, chunk_id in zip(chunks, chunk_ids(f"{batch_id}-q{dest}", len(chunks), "c")):
                    await topics.pseudonymized.send(value=chunk, partition=dest,
                                                    headers=[(HEADER_BATCH_ID, chunk_id.encode()), (HEADER_KIND, KIND_DATA)])
            if rejects:
                await send_rejects(rejects, batch_id)
            metrics.record_ingest(len(valid.events) + len(valid.rejects), result.table.num_rows, rejects)

