"""Issue 9 workaround (pipeline/rebalance.py): the end of a table recovery neither delivers nor strands records."""

from __future__ import annotations

import asyncio

import faust
from aiokafka import TopicPartition

from pipeline.rebalance import keep_records_across_recovery

RAW_3 = TopicPartition("telemetry.raw", 3)
PSEUDONYMIZED_3 = TopicPartition("telemetry.pseudonymized", 3)
CHANGELOG_3 = TopicPartition("anonpipe-kanon-cells-changelog", 3)


class FakeAIOKafkaConsumer:
    """Log start offset 5 everywhere (retention trimmed the first records): the rewind must seek there."""

    def __init__(self):
        self.positions: dict[TopicPartition, int] = {}

    async def beginning_offsets(self, partitions):
        return {tp: 5 for tp in partitions}

    def seek(self, tp, offset):
        self.positions[tp] = offset


class FakeThread:
    def __init__(self):
        self.aiokafka = FakeAIOKafkaConsumer()

    def _ensure_consumer(self):
        return self.aiokafka

    async def call_thread(self, method, *args):
        return await method(*args)


class FakeConsumer:
    """The parts of faust's aiokafka Consumer the workaround touches."""

    def __init__(self, committed):
        self.flow_active = True
        self.committed = committed
        self._thread = FakeThread()

    def stop_flow(self):
        self.flow_active = False

    async def seek_to_committed(self):
        return self.committed


def recovery_completes(committed):
    app = faust.App("anonpipe", broker="kafka://127.0.0.1:1")
    app.Table("kanon-cells", default=None, partitions=4)  # as in production: its changelog is CHANGELOG_3's topic
    consumer = FakeConsumer(committed)
    app._consumer = consumer  # never started: only the signal and the seek are exercised
    keep_records_across_recovery(app)

    async def scenario():
        await app.on_rebalance_complete.send()
        flow_after_signal = consumer.flow_active
        return flow_after_signal, await consumer.seek_to_committed()
    flow_after_signal, returned = asyncio.run(scenario())
    return consumer, flow_after_signal, returned


def test_flow_is_stopped_when_the_recovery_completes_so_nothing_lands_in_queues_about_to_be_cleared():
    _, flow_after_signal, _ = recovery_completes({PSEUDONYMIZED_3: 8})
    assert flow_after_signal is False


def test_seek_also_rewinds_partitions_without_a_committed_offset_but_not_changelogs():
    consumer, _, returned = recovery_completes({RAW_3: None, PSEUDONYMIZED_3: 8, CHANGELOG_3: None})
    assert consumer._thread.aiokafka.positions == {RAW_3: 5}
    assert returned == {RAW_3: None, PSEUDONYMIZED_3: 8, CHANGELOG_3: None}  # faust's read offsets stay as before


def test_nothing_is_rewound_when_every_partition_has_a_committed_offset():
    consumer, _, _ = recovery_completes({RAW_3: 2, PSEUDONYMIZED_3: 8})
    assert consumer._thread.aiokafka.positions == {}
