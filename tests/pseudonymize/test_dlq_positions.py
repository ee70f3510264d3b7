"""Dead letters carry their own source position, and DLQ messages claim only ranges whose every reject they (or
earlier messages of the stream) hold: what lets the DLQ sink write each dead letter once whatever the batching."""

from __future__ import annotations

import random

import orjson
import pytest
from harness import GENERATED_UNTIL

from pipeline.common.positions import MAX_INDEX, parse_range_id, position, raw_partition_of
from pipeline.common.rejects import INDEX, UNPARSED, WHOLE_MESSAGE, decode_rejects, reject_position
from pipeline.generate import TelemetryGenerator
from pipeline.pseudonymize.batch import BatchIngest, RawMessage
from pipeline.validate.envelope import split_envelope_with_bytes

PARTITIONS = 2
SERVICES: dict = {}


@pytest.fixture(scope="module")
def messages() -> list[RawMessage]:
    """One-event messages, NDJSON envelopes and JSON arrays, 15 % bad events of every kind, an oversized envelope
    and an envelope of big unparsable lines (its dead letters need more than one DLQ message), over 2 partitions."""
    labelled = list(TelemetryGenerator(7, end=GENERATED_UNTIL, hours=4).labelled_lines(900, 0.15))
    rng = random.Random(11)
    out, offsets, i = [], [0] * PARTITIONS, 0

    def add(partition: int, value: bytes) -> None:
        out.append(RawMessage(partition, offsets[partition], value))
        offsets[partition] += 1
    while i < len(labelled):
        partition = rng.randrange(PARTITIONS)
        size = rng.choice([1, 1, 1, 1, 6, 30])
        chunk = [line for line, _ in labelled[i:i + size]]
        value = chunk[0] if size == 1 else b"\n".join(chunk)
        if size == 6:
            value = b"[" + b",".join(orjson.dumps(orjson.loads(line)) if line.endswith(b"}") and _parses(line)
                                     else b"17" for line in chunk) + b"]"  # 17: an event that is no object
        add(partition, value)
        i += size
        if len(out) == 40:
            add(1, b"\n".join([b"{" + b"x" * 60_000] * 25 + chunk))  # 25 x 60 KB unparsable lines: > 1 MB
            add(0, b"{" * (9 * 1024 * 1024))  # too large: rejected as a whole
            add(1, b"[1, 2,")  # an array that does not parse
    return out


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
        return True
    except orjson.JSONDecodeError:
        return False


def ingest(policy, ring, batches):
    runner = BatchIngest(policy, ring, "abc123", 3, "telemetry.raw", services=SERVICES)
    return [runner.run(batch) for batch in batches]


def cut(messages, size: int):
    return [messages[start:start + size] for start in range(0, len(messages), size)]


def dead_letters(outputs) -> list[tuple[str, dict]]:
    """(DLQ message id, line) of every dead letter, in the order sent."""
    return [(m.batch_id, line) for out in outputs for m in out.dlq for line in decode_rejects(m.payload)]


def identity(batch_id: str, line: dict) -> tuple[int, int]:
    return raw_partition_of(parse_range_id(batch_id)[0]), reject_position(line["source"])


def test_every_dead_letter_has_a_readable_place_pointing_at_its_bytes(policy, ring, messages):
    letters = dead_letters(ingest(policy, ring, cut(messages, 50)))
    by_position = {(m.partition, m.offset): m.value for m in messages}
    places = {INDEX: 0, UNPARSED: 0, WHOLE_MESSAGE: 0}
    for _, line in letters:
        source = line["source"]
        assert set(source) - {"topic", "partition", "offset"} in ({INDEX}, {UNPARSED}, {WHOLE_MESSAGE})
        value = by_position[(source["partition"], source["offset"])]
        events, unparsed = split_envelope_with_bytes(value)
        raw = line["raw"].encode()
        if INDEX in source:
            places[INDEX] += 1
            assert events[source[INDEX]][1][:65536] == raw  # the event's index among the envelope's events
        elif UNPARSED in source:
            places[UNPARSED] += 1
            assert unparsed[source[UNPARSED]].raw[:65536] == raw
        else:
            places[WHOLE_MESSAGE] += 1
            assert line["code"] == "envelope_too_large"
    assert places[INDEX] > 80 and places[UNPARSED] > 30 and places[WHOLE_MESSAGE] == 1
    identities = [identity(batch_id, line) for batch_id, line in letters]
    assert None not in {at for _, at in identities} and len(set(identities)) == len(identities)
    assert {"schema_violation", "invalid_ip", "event_not_object", "envelope_not_json",
            "envelope_too_large"} <= {line["code"] for _, line in letters}


def test_a_dead_letters_position_does_not_depend_on_the_batching(policy, ring, messages):
    def by_identity(outputs):
        return {identity(batch_id, line): line for batch_id, line in dead_letters(outputs)}
    alone = by_identity(ingest(policy, ring, [[m] for m in messages[:120]]))
    together = by_identity(ingest(policy, ring, [messages[:120]]))
    assert together == alone and len(alone) > 20


def test_each_dlq_message_holds_every_dead_letter_its_range_claims(policy, ring, messages):
    """The claim the sink relies on, checked against the full set of dead letters: for every DLQ message
    `s….r<p>-lo-hi`, each dead letter of raw partition p with a position in [lo, hi] is in it or in an earlier
    DLQ message of the same stream; also for the chunks of a message over 1 MB."""
    every = {identity(b, line) for b, line in dead_letters(ingest(policy, ring, [messages]))}
    for size in (1, 7, 50, 400):
        outputs = ingest(policy, ring, cut(messages, size))
        sent: set[tuple[int, int]] = set()
        chunked = 0
        for out in outputs:
            for message in out.dlq:
                stream, lo, hi = parse_range_id(message.batch_id)
                partition = raw_partition_of(stream)
                lines = {identity(message.batch_id, line) for line in decode_rejects(message.payload)}
                assert all(lo <= at <= hi for _, at in lines)
                sent |= lines
                claimed = {(p, at) for p, at in every if p == partition and lo <= at <= hi}
                assert claimed <= sent, f"batches of {size}: {message.batch_id} claims dead letters not yet sent"
            streams = [parse_range_id(m.batch_id)[0] for m in out.dlq]
            chunked = max([chunked] + [streams.count(s) for s in streams])
        assert sent == every
        assert chunked >= 2  # the envelope of big lines went out in several DLQ messages of one batch


def test_consecutive_dlq_messages_claim_adjacent_ranges(policy, ring, messages):
    """Claims extend back over batches without dead letters, so a stream's claims merge into one range."""
    outputs = ingest(policy, ring, cut(messages, 5))
    claims: dict[str, list[tuple[int, int]]] = {}
    for out in outputs:
        for message in out.dlq:
            stream, lo, hi = parse_range_id(message.batch_id)
            claims.setdefault(stream, []).append((lo, hi))
    for stream, ranges in claims.items():
        assert len(ranges) > 3 and all(nxt[0] == prev[1] + 1 for prev, nxt in zip(ranges, ranges[1:])), stream


def test_unparsed_parts_and_whole_messages_never_take_an_events_position():
    from pipeline.common.rejects import MAX_RAW_BYTES  # noqa: F401 - the module under test
    events, lines = 9_998, 2  # an envelope has at most 10,000 lines
    last_event = reject_position({"offset": 3, INDEX: events - 1})
    unparsed = {reject_position({"offset": 3, UNPARSED: n}) for n in range(lines)}
    whole = reject_position({"offset": 3, WHOLE_MESSAGE: True})
    assert last_event < min(unparsed) and max(unparsed) < whole == position(3, MAX_INDEX)
    assert reject_position({"offset": 3}) is None and reject_position({"offset": 3, INDEX: True}) is None
