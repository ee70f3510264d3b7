"""Ingest service: raw topic → micro-batches (pipeline/pseudonymize/batch.py) → pseudonymized batches + DLQ.

A batch consumer inside the faust worker, not a faust agent: faust hands an agent one record at a time (a few
thousand per second at best), and producers send one event per message. An aiokafka consumer in a group of its
own gathers up to `max_messages` messages or `max_bytes`, waiting at most `max_wait` for more once the first has
arrived, runs validation and the kernel once per batch, and sends the results with the app's producer.

Delivery: at-least-once, made exactly-once downstream by source positions. The batch's offsets are committed only
after the broker acknowledged every output message; a crash before that re-reads the batch (perhaps gathered
differently) and the sinks and the k-anonymity state drop what they already hold by position. A rebalance waits
for the batch in flight, so the next owner starts after what this one committed.

Overlap: the broker acknowledges a batch's outputs while the next batch is computed (the kernel holds the event
loop, so waiting for acknowledgements, commits and fetches in between left the worker idle a quarter of the time).
One batch at most waits for its acknowledgements; it is committed before the next one is sent (offsets in order;
the next batch's range ids claim back over its positions), and if its outputs fail, no later batch is sent.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from mode import Service

from pipeline.common.wire import HEADER_BATCH_ID, HEADER_KIND, KIND_DATA
from pipeline.failpoints import failpoint
from pipeline.observability.metrics import PipelineMetrics
from pipeline.pseudonymize.batch import BatchIngest, IngestOutput, RawMessage
from pipeline.pseudonymize.batch import partition_for, split_by_partition  # noqa: F401 - the routing's old home

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchLimits:
    """When the ingest stage stops gathering and processes what it has."""

    max_messages: int = 5000
    max_bytes: int = 8 * 1024 * 1024
    max_wait: float = 0.1

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.max_bytes < 1 or self.max_wait < 0:
            raise ValueError("ingest batch limits must be positive (messages ≥ 1, bytes ≥ 1, wait ≥ 0)")


def consumer_security(kafka) -> dict:
    """aiokafka options for the cluster's security protocol (the same credentials faust uses)."""
    options: dict = {"security_protocol": kafka.security_protocol}
    if "SSL" in kafka.security_protocol:
        options["ssl_context"] = ssl.create_default_context(cafile=kafka.ssl_cafile)
    if kafka.security_protocol.startswith("SASL"):
        options.update(sasl_mechanism=(kafka.sasl_mechanism or "PLAIN").upper(),
                       sasl_plain_username=kafka.sasl_username, sasl_plain_password=kafka.sasl_password)
    return options


class _HandOver(ConsumerRebalanceListener):
    """Before partitions move: the batch in flight finishes and commits, and claims are forgotten."""

    def __init__(self, service: "RawIngest"):
        self.service = service

    async def on_partitions_revoked(self, revoked) -> None:
        async with self.service.in_flight:
            await self.service.settle()  # committed while the partitions are still ours
            self.service.batch.claims.forget()

    async def on_partitions_assigned(self, assigned) -> None:
        self.service.batch.claims.forget()
        partitions = ",".join(str(tp.partition) for tp in sorted(assigned))
        log.info("ingest: raw partitions assigned: %s", partitions or "none")


class RawIngest(Service):
    """Consume the raw topic in batches; send outputs; commit offsets after the broker acknowledged them."""

    def __init__(self, app, topics, batch: BatchIngest, kafka, group_id: str, limits: BatchLimits,
                 metrics: PipelineMetrics | None = None, **kwargs):
        super().__init__(**kwargs)
        self.app, self.topics, self.batch, self.kafka = app, topics, batch, kafka
        self.group_id, self.limits = group_id, limits
        self.metrics = metrics or PipelineMetrics()
        self.consumer: AIOKafkaConsumer | None = None
        self.in_flight = asyncio.Lock()
        self.committed: dict[TopicPartition, int] = {}
        # The batch sent last, not yet acknowledged and committed: (acknowledgement futures, output, records).
        self.unacknowledged: tuple[list, IngestOutput, list] | None = None
        self.frozen = False  # long-lived objects moved out of the collector's sight (after the first batch)

    async def on_start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap.split(","), group_id=self.group_id,
            client_id=f"{self.group_id}-consumer", enable_auto_commit=False, auto_offset_reset="earliest",
            # the same short session as faust's consumer (app.py): fast first join and failover
            session_timeout_ms=6000, heartbeat_interval_ms=2000,
            max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
            **consumer_security(self.kafka))
        self.consumer.subscribe([self.batch.topic], listener=_HandOver(self))
        await self.consumer.start()

    async def on_stop(self) -> None:
        if self.consumer is not None:
            async with self.in_flight:  # let the batch in flight finish and commit
                try:
                    await self.settle()
                finally:
                    await self.consumer.stop()

    def lag(self) -> dict[TopicPartition, int]:
        """Messages between each assigned partition's committed offset and its high watermark."""
        if self.consumer is None:
            return {}
        lags = {}
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                lags[tp] = highwater - self.committed.get(tp, 0)
        return lags

    @Service.task
    async def _consume(self) -> None:
        while not self.should_stop:
            try:
                messages = await self._gather()
            except KafkaError as exc:
                log.warning("ingest: fetch failed (%s); retrying", type(exc).__name__)
                await self.sleep(1.0)
                continue
            if not messages:
                continue
            async with self.in_flight:
                await self._process(messages)

    async def _gather(self) -> list:
        """Up to the limits: wait for a first message, then at most `max_wait` for more."""
        consumer, limits = self.consumer, self.limits
        records: list = []
        size = 0
        deadline = None
        while len(records) < limits.max_messages and size < limits.max_bytes:
            if deadline is None:
                # Only what is already fetched while a batch awaits its acknowledgements: else it is settled first.
                timeout = 0.0 if self.unacknowledged is not None else 1.0
            else:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
            fetched = await consumer.getmany(timeout_ms=int(timeout * 1000),
                                             max_records=limits.max_messages - len(records))
            if not fetched:
                if deadline is None:
                    if self.unacknowledged is not None:
                        async with self.in_flight:
                            await self.settle()
                        continue
                    return records
                break
            for partition_records in fetched.values():
                records.extend(partition_records)
                size += sum(len(r.value or b"") for r in partition_records)
            deadline = deadline or time.monotonic() + limits.max_wait
            if limits.max_wait == 0:
                break
        return records

    async def _process(self, records: list) -> None:
        messages = [RawMessage(r.partition, r.offset, r.value or b"") for r in records]
        # The fetcher asks for the next messages once these left its buffer; let it, before the kernel holds the
        # event loop, so the broker prepares them meanwhile.
        await asyncio.sleep(0)
        with self.metrics.time_batch("ingest"):
            output = self.batch.run(messages)
        if not self.frozen:
            # The worker's long-lived objects (faust, the text PII engine built by the first batch, caches) are
            # left out of the garbage collector's full collections from now on: each scanned them all, ~50 ms a
            # few times a minute, for nothing (they are freed by reference counting when they go, if ever).
            gc.freeze()
            self.frozen = True
        # The previous batch first (acknowledged by now, most of the time: its acknowledgements arrived while the
        # kernel ran). This batch's range ids claim back over the previous batch's positions, so its outputs must
        # never reach the broker unless the previous outputs did: a sink would take the claim for rows it never got.
        if not await self.settle():
            return  # it failed: this one is neither sent nor committed (read again after the restart)
        try:
            pending = await self._send(output)
        except Exception as exc:
            await self._failed(exc)
            return
        self.unacknowledged = (pending, output, records)
        if self._stopping():
            await self.settle()

    async def settle(self) -> bool:
        """Wait for the acknowledgements of the batch sent last, then commit its offsets. False when they failed
        while the worker stops (raised otherwise)."""
        if self.unacknowledged is None:
            return True
        pending, output, records = self.unacknowledged
        self.unacknowledged = None
        try:
            if pending:
                await asyncio.gather(*pending)
        except Exception as exc:
            await self._failed(exc)
            return False
        self.metrics.record_ingest(output.events_in, output.rows_out, output.rejects)
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        failpoint("ingest.before_commit")  # crash tests: outputs acknowledged, input not committed
        try:
            await self.consumer.commit(offsets)
            self.committed.update(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # partitions moved meanwhile: the next owner reads this batch again; the positions make it harmless
            log.warning("ingest: offsets not committed (%s); the batch will be read again", type(exc).__name__)
        return True

    def _stopping(self) -> bool:
        return bool(self.should_stop or self.app.should_stop)

    async def _failed(self, exc: Exception) -> None:
        """Outputs not sent or not acknowledged: nothing from here on is committed (a batch sent after this one
        stays uncommitted too), so it is all read again."""
        self.batch.claims.forget()  # what was claimed may not have reached the broker
        self.unacknowledged = None
        if self._stopping():
            # The worker is stopping and its producer may already be closed. Nothing of this batch was
            # committed, so it is read again after the restart, where its source positions make it harmless.
            log.warning("ingest: batch not sent while stopping (%s); it is read again after restart",
                        type(exc).__name__)
            return
        raise exc

    async def _send(self, output: IngestOutput) -> list:
        """Hand every output message to the producer; the futures of their acknowledgements."""
        pending = []
        for message in output.pseudonymized:
            pending.append(await self.topics.pseudonymized.send(
                value=message.payload, partition=message.partition, force=True,
                headers=[(HEADER_BATCH_ID, message.batch_id.encode()), (HEADER_KIND, KIND_DATA)]))
        for message in output.dlq:
            # Keyed by raw stream ("s<incarnation>.r<partition>", no event data): one raw partition's dead letters go
            # to one DLQ partition, so one sink at a time checks and writes them (pipeline/lake/dlq.py).
            pending.append(await self.topics.dlq.send(
                key=message.batch_id.split("-", 1)[0].encode(), value=message.payload, force=True,
                headers=[(HEADER_BATCH_ID, message.batch_id.encode())]))
        return pending


def register(app, topics, batch: BatchIngest, kafka, limits: BatchLimits, metrics=None) -> RawIngest:
    """Start the ingest service with the app; its consumer group is the app's id + "-raw"."""
    service = RawIngest(app, topics, batch, kafka, f"{app.conf.id}-raw", limits, metrics)
    app.add_dependency(service)
    return service
