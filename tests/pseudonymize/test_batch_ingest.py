"""Micro-batched ingest: one-event messages and envelopes on one topic, events identified by source position, and
exactly-once downstream whatever batches a replay gathers (the lake planner is the checker's stand-in sink)."""

from __future__ import annotations

import random

import numpy as np
import orjson
import pyarrow as pa
import pytest
from harness import GENERATED_UNTIL

from pipeline.common.positions import INDEX_BITS, HeldPositions, parse_range_id
from pipeline.common.wire import POSITION_COLUMN, decode_table
from pipeline.generate import TelemetryGenerator
from pipeline.lake.rollover import SinkMessage, plan_files
from pipeline.pseudonymize.batch import BatchIngest, RawMessage

PARTITIONS = 3


@pytest.fixture(scope="module")
def messages() -> list[RawMessage]:
    """Mostly one event per message, some NDJSON envelopes and JSON arrays, 3 % malformed, over 3 partitions."""
    labelled = list(TelemetryGenerator(3, end=GENERATED_UNTIL, hours=4).labelled_lines(800, 0.03))
    rng = random.Random(5)
    out, offsets, i = [], [0] * PARTITIONS, 0
    while i < len(labelled):
        partition = rng.randrange(PARTITIONS)
        size = rng.choice([1, 1, 1, 1, 7, 25])
        chunk = [line for line, _ in labelled[i:i + size]]
        value = chunk[0] if size == 1 else b"\n".join(chunk)
        if size == 7 and all(line.startswith(b"{") for line in chunk):
            try:
                value = b"[" + b",".join(orjson.dumps(orjson.loads(line)) for line in chunk) + b"]"
            except orjson.JSONDecodeError:
                pass
        out.append(RawMessage(partition, offsets[partition], value))
        offsets[partition] += 1
        i += size
    return out


SERVICES: dict = {}  # the text PII engine and its caches, built once for the module (as a worker keeps them)


def ingest(policy, ring, batches: list[list[RawMessage]]):
    runner = BatchIngest(policy, ring, "abc123", PARTITIONS, "telemetry.raw", services=SERVICES)
    return [runner.run(batch) for batch in batches]


def rows_of(outputs) -> pa.Table:
    return pa.concat_tables([decode_table(m.payload) for out in outputs for m in out.pseudonymized])


def cut(messages: list[RawMessage], sizes: list[int]) -> list[list[RawMessage]]:
    batches, start = [], 0
    for size in sizes:
        batches.append(messages[start:start + size])
        start += size
    return [b for b in batches if b] + ([messages[start:]] if start < len(messages) else [])


def test_every_event_is_accounted_for_once_with_its_own_source(policy, ring, messages):
    outputs = ingest(policy, ring, cut(messages, [200, 1, 300]))
    rows = rows_of(outputs)
    rejects = [r for out in outputs for r in out.rejects]
    total = sum(out.events_in for out in outputs)
    assert rows.num_rows + len(rejects) == total == 800 and rows.num_rows > 600
    identities = [(parse_range_id(m.batch_id)[0], at) for out in outputs for m in out.pseudonymized
                  for at in decode_table(m.payload).column(POSITION_COLUMN).to_pylist()]
    assert len(set(identities)) == len(identities) == rows.num_rows
    by_position = {(m.partition, m.offset): m.value for m in messages}
    for reject in rejects:  # each reject names the message that carried it, and the message holds its bytes
        value = by_position[(reject.source["partition"], reject.source["offset"])]
        assert reject.raw in value or orjson.loads(reject.raw) in orjson.loads(b"[" + value.replace(b"\n", b",") + b"]")


def test_an_events_identity_does_not_depend_on_how_it_was_batched(policy, ring, messages):
    """Each message alone, then all in one batch: every event has the same position and the same row either way,
    and every pseudonymized message names a range holding its rows' positions."""
    messages = messages[:150]  # one kernel call per message below: a prefix keeps the test fast
    alone = {}
    for message in messages:
        alone_rows = [row for out in ingest(policy, ring, [[message]]) for m in out.pseudonymized
                      for row in decode_table(m.payload).to_pylist()]
        for row in alone_rows:
            assert row[POSITION_COLUMN] >> INDEX_BITS == message.offset
            alone[(message.partition, row[POSITION_COLUMN])] = row
    together = {}
    for out in ingest(policy, ring, [messages]):
        for message in out.pseudonymized:
            stream, lo, hi = parse_range_id(message.batch_id)
            partition = int(stream.split(".")[1][1:])
            for row in decode_table(message.payload).to_pylist():
                assert lo <= row[POSITION_COLUMN] <= hi
                together[(partition, row[POSITION_COLUMN])] = row
    assert together == alone and len(alone) > 100


def test_a_replay_batched_differently_lands_each_row_once(policy, ring, messages):
    """First run: batches of 97 messages, the sink writes only the first half (then a crash). Replay from the
    start in batches of 211: the planner, fed the held ranges, adds exactly the missing rows."""
    first = ingest(policy, ring, cut(messages, [67] * 20))
    replay = ingest(policy, ring, cut(messages, [141] * 10))
    held: dict[str, HeldPositions] = {}

    def sink(outputs) -> list[str]:
        sink_messages = [SinkMessage(m.batch_id, decode_table(m.payload)) for out in outputs for m in out.pseudonymized]
        written = []
        for planned in plan_files(sink_messages, lambda day: held.setdefault(day, HeldPositions({}, set()))):
            held[planned.date_value].update(HeldPositions.from_ids(planned.batch_ids))
            written += planned.table.column("event_pseudonym").to_pylist()
            assert POSITION_COLUMN not in planned.table.schema.names  # positions stay in the footers
        return written

    landed = sink(first[: len(first) // 2]) + sink(replay)
    expected = rows_of(first).column("event_pseudonym").to_pylist()
    assert sorted(landed) == sorted(expected)
    # the ledger stays a few ranges per stream: batches of one raw partition and stage partition merge
    assert max(len(ranges) for h in held.values() for ranges in h.ranges.values()) <= 3
