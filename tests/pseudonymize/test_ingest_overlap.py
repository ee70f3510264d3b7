"""The ingest service overlaps a batch's acknowledgements with the next batch's kernel, yet commits a batch only
after the broker acknowledged all its outputs, in order, and never past a batch whose outputs failed."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from pipeline.pseudonymize.agent import BatchLimits, RawIngest
from pipeline.pseudonymize.batch import Claims, IngestOutput, OutMessage


@dataclass
class Record:
    partition: int
    offset: int
    value: bytes = b"{}"
    topic: str = "telemetry.raw"


class Acks:
    """The producer: every send returns a future the test resolves (or fails) when it likes, or, while `outcomes`
    lasts, one already done with the next outcome (None: acknowledged; an exception: failed)."""

    def __init__(self):
        self.futures: list[asyncio.Future] = []
        self.outcomes: list[Exception | None] = []

    async def send(self, **_):
        future = asyncio.get_running_loop().create_future()
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)
        self.futures.append(future)
        return future


@dataclass
class Consumer:
    fetches: list = field(default_factory=list)  # what each getmany returns ({} when the list is exhausted)
    commits: list = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int):
        await asyncio.sleep(0)
        return self.fetches.pop(0) if self.fetches else {}

    async def commit(self, offsets):
        self.commits.append({tp.partition: offset for tp, offset in offsets.items()})


class OneMessagePerBatch:
    """A BatchIngest stand-in: one pseudonymized message per batch."""

    def __init__(self):
        self.claims = Claims()

    def run(self, messages):
        return IngestOutput([OutMessage(f"b{messages[0].offset}", b"rows", 0)], [], len(messages), len(messages))


def service() -> tuple[RawIngest, Acks, Consumer]:
    acks, consumer = Acks(), Consumer()
    topics = SimpleNamespace(pseudonymized=acks, dlq=acks)
    app = SimpleNamespace(should_stop=False)
    ingest = RawIngest(app, topics, OneMessagePerBatch(), kafka=None, group_id="g", limits=BatchLimits())
    ingest.consumer = consumer
    return ingest, acks, consumer


def test_a_batch_is_committed_after_its_acknowledgements_while_the_next_one_is_processed():
    async def scenario():
        ingest, acks, consumer = service()
        await ingest._process([Record(0, 0), Record(0, 1)])
        assert consumer.commits == [] and len(acks.futures) == 1  # sent, not acknowledged: not committed
        acks.futures[0].set_result(None)
        await ingest._process([Record(0, 2)])  # the first one is settled, then the next batch sent
        assert consumer.commits == [{0: 2}] and len(acks.futures) == 2
        settling = asyncio.ensure_future(ingest.settle())
        await asyncio.sleep(0.01)
        assert consumer.commits == [{0: 2}]  # the second one waits for its acknowledgement ...
        acks.futures[1].set_result(None)
        await settling
        assert consumer.commits == [{0: 2}, {0: 3}]  # ... and is committed then
    asyncio.run(scenario())


def test_a_batch_is_sent_only_after_the_previous_one_is_acknowledged():
    """A batch's range ids claim back over the previous batch's positions: sent before those outputs are
    acknowledged, a sink could hold the claim without the rows, and drop them as duplicates on replay."""
    async def scenario():
        ingest, acks, consumer = service()
        await ingest._process([Record(0, 0)])
        second = asyncio.ensure_future(ingest._process([Record(0, 1)]))
        await asyncio.sleep(0.01)
        assert len(acks.futures) == 1 and not second.done()  # computed, waiting for the first acknowledgement
        acks.futures[0].set_result(None)
        await second
        assert len(acks.futures) == 2 and consumer.commits == [{0: 1}]
    asyncio.run(scenario())


def test_no_batch_is_committed_past_one_whose_outputs_failed():
    async def scenario(stopping: bool):
        ingest, acks, consumer = service()
        acks.outcomes = [OSError("broker gone"), None, None]
        await ingest._process([Record(0, 0)])
        ingest.app.should_stop = stopping
        try:
            await ingest._process([Record(0, 1)])  # the batch before it failed
        except OSError:
            assert not stopping
        else:
            assert stopping
        await ingest.settle()
        return consumer.commits, len(acks.futures)
    assert asyncio.run(scenario(stopping=True)) == ([], 1)  # nothing committed, the second batch never sent
    assert asyncio.run(scenario(stopping=False)) == ([], 1)


def test_gathering_settles_the_last_batch_when_nothing_is_fetched_at_once():
    async def scenario():
        ingest, acks, consumer = service()
        await ingest._process([Record(1, 7)])
        acks.futures[0].set_result(None)
        consumer.fetches = [{}, {"tp": [Record(1, 8)]}]
        gathered = await ingest._gather()
        return gathered, consumer.commits
    gathered, commits = asyncio.run(scenario())
    assert [r.offset for r in gathered] == [8] and commits == [{1: 8}]


def test_long_lived_objects_are_frozen_once_after_the_first_batch():
    async def scenario():
        ingest, acks, consumer = service()
        acks.outcomes = [None, None]
        held_before = gc.get_freeze_count()
        await ingest._process([Record(0, 0)])
        frozen_after_first = gc.get_freeze_count()
        keep = [object() for _ in range(100)] + [[] for _ in range(100)]  # tracked objects made afterwards
        await ingest._process([Record(0, 1)])
        return held_before, frozen_after_first, gc.get_freeze_count(), keep
    try:
        before, first, second, _ = asyncio.run(scenario())
    finally:
        gc.unfreeze()
    assert first > before and second <= first  # frozen after the first batch only (some since freed)
