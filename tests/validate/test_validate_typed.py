"""The typed decode of clean envelopes: same events, rejects and columns as the reference path, or not taken."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.common.event import TypedEvents
from pipeline.generate import TelemetryGenerator
from pipeline.keys.ring import ephemeral_ring
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import typed_schema, validate_batch
from pipeline.validate.fast import Unsupported
from pipeline.validate.typed import TypedSchema
from test_validate_fast_path import GOOD, MUTATION, NOW, SETTINGS, assert_same, dumps, mutate

LINE = orjson.dumps(GOOD[0])


def typed_taken(payload: bytes) -> bool:
    return isinstance(validate_batch([(payload, {})], now=NOW).events, TypedEvents)


def test_shipped_schema_is_within_the_typed_decode():
    assert typed_schema() is not None  # else every envelope silently takes the slower paths


def test_clean_envelopes_take_the_typed_decode_and_match_the_reference():
    payload = b"\n".join(orjson.dumps(e) for e in GOOD)
    assert typed_taken(payload)
    assert_same(payload)


@SETTINGS
@given(st.integers(0, len(GOOD) - 1), st.lists(MUTATION, max_size=3))
def test_one_mutated_event_per_envelope_matches_the_reference(index, mutations):
    # One event per envelope: a valid mutation keeps the envelope on the typed decode, an invalid one sends it
    # down the reference path; either way the outcome must be the reference's.
    event = GOOD[index]
    for path, value in mutations:
        event = mutate(event, path, value)
    assert_same(dumps(event))
    assert_same(LINE + b"\n" + dumps(event))


@pytest.mark.parametrize("payload", [
    LINE + b"\n" + LINE[:-1] + b',"x":' + b"[" * 200 + b"]" * 200 + b"}",  # nesting in an unknown field
    LINE[:-1] + b',"x":"\xff"}',  # not UTF-8 in an unknown field (msgspec alone would skip it unread)
    LINE[:-1] + b',"x":1e400}',  # a number orjson refuses, in an unknown field
    LINE[:-1] + b',"properties":{"n":9223372036854775808}}',  # an int orjson keeps, beyond int64
    LINE[:-1] + b',"properties":{"n":18446744073709551616}}',  # an int orjson reads as a float
    LINE[:-1] + b',"properties":{"n":1e400}}',
    LINE[:-1] + b',"x":"\\ud800"}',  # a lone surrogate escape
    LINE[:-1] + b',"x":"\xff"}',  # not UTF-8
    LINE + LINE,  # two documents on one line
    LINE + b"\n\n" + LINE,  # a blank line
    LINE + b"\r\n" + LINE + b"\r\n",
    LINE + b"\n   \n" + LINE,
    b"  " + LINE + b"  \n" + LINE + b"\t",
    LINE.replace(b"{", b"{\"event_id\":\"dup-first-1\",", 1),  # a duplicate key: the last one counts
    LINE[:-1] + b',"schema_version":1}',
    LINE[:-1] + b',"schema_version":1.0}',  # const 1 accepts 1.0 in JSON Schema: the reference decides
    LINE[:-1] + b',"schema_version":true}',
    b"[" + LINE + b"]",
    b"{\n" + LINE[1:],  # one pretty-printed object
])
def test_json_edge_cases_match_the_reference(payload):
    assert_same(payload)


# Values orjson refuses or reads in its own way, placed in every kind of field the typed decode reads.
ODD_VALUES = [b'"\\ud800"', b'"\\udc00"', b'"\\ud83d\\ude00"', b'"\\x"', b'"\\u12G4"', b'"\xff"', b'"\xc3"', b'"\x01"',
              b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xc0\xaf"', b'01', b'1.', b'.5', b'+1', b'NaN', b'Infinity',
              b'[1,]', b'1e400', b'-1e400', b'1' + b'0' * 400, b'1.7976931348623157e309', b'"\\u0000"']
PLACES = [b',"x":%s}', b',"user_agent":%s}', b',"text":%s}', b',"properties":{"k":%s}}', b',"properties":{%s:1}}',
          b',"device":{"model":%s}}', b',"geo":{"lat":%s,"lon":1}}']


@pytest.mark.parametrize("place", PLACES)
def test_values_orjson_refuses_are_never_typed(place):
    for value in ODD_VALUES:
        line = LINE[:-1] + place % value
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            assert not typed_taken(line), line
        assert_same(line)


@SETTINGS
@given(st.data())
def test_byte_mutations_are_typed_only_when_the_reference_accepts_them(data):
    line = bytearray(orjson.dumps(GOOD[data.draw(st.integers(0, len(GOOD) - 1))]))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(line) - 1))
        line[position:position + 1] = data.draw(st.binary(min_size=0, max_size=3))
    assert_same(bytes(line))


@pytest.mark.parametrize("path, value", [
    ("event_id", "abcdefgh\n"), ("event_id", "abcdefg!x"), ("app.version", "2.4.1\n"), ("app.version", "٣.٤"),
    ("device.screen", "1080x2400\n"), ("device.screen", "1080X2400"), ("occurred_at", "2026-11-20T10:00:00Z\n"),
    ("occurred_at", "٢٠٢٦-11-20T10:00:00Z"), ("occurred_at", "2026-02-30T10:00:00Z"),
])
def test_pattern_violations_are_left_to_the_reference(path, value):
    # Patterns are checked column-wise with RE2 after the decode: a miss there must send the envelope back.
    payload = LINE + b"\n" + dumps(mutate(GOOD[1], path, value))
    assert not typed_taken(payload)
    assert_same(payload)


@pytest.mark.parametrize("depth", [1000, 1030])
def test_deep_nesting_in_unknown_fields_matches_the_reference(depth):
    # Around orjson's depth limit (1024): msgspec's is lower, so these lines take the reference path.
    payload = LINE + b"\n" + LINE[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}"
    fast = validate_batch([(payload, {})], now=NOW)
    reference = validate_batch([(payload, {})], now=NOW, use_fast=False)
    assert [(r.code, r.reason, r.raw) for r in fast.rejects] == [(r.code, r.reason, r.raw) for r in reference.rejects]
    assert [e["_raw"] for e in fast.events] == [e["_raw"] for e in reference.events]


def test_late_and_future_events_are_left_to_the_reference_path():
    old = dict(GOOD[0], occurred_at="2020-01-01T00:00:00Z")
    payload = LINE + b"\n" + orjson.dumps(old)
    assert not typed_taken(payload)
    assert_same(payload)


def typed_and_reference(seed: int, count: int):
    """One clean generated envelope validated typed (checked to be) and by the reference path."""
    lines = list(TelemetryGenerator(seed, end=NOW - dt.timedelta(minutes=10), hours=2).lines(count))
    payload = b"\n".join(lines)
    typed = validate_batch([(payload, {})], now=NOW)
    reference = validate_batch([(payload, {})], now=NOW, use_fast=False)
    assert isinstance(typed.events, TypedEvents)
    return typed, reference


def test_typed_events_build_the_reference_dicts_on_demand():
    typed, reference = typed_and_reference(3, 300)
    assert list(typed.events) == reference.events
    assert typed.events[3] is typed.events[3]  # built once: a caller's change to an event sticks
    assert typed.events[1:3] == reference.events[1:3]


def test_kernel_output_from_typed_events_equals_the_reference_dicts():
    typed, reference = typed_and_reference(8, 1000)
    policy, ring = load_policy(), ephemeral_ring("monthly", NOW)
    fast = pseudonymize_batch(typed.events, policy, ring, {}, {}, columns=typed.columns)
    slow = pseudonymize_batch(reference.events, policy, ring, {}, {})
    assert fast.table.equals(slow.table)
    assert fast.table.column("properties").null_count < fast.table.num_rows  # free-form values did arrive
    assert [(r.code, r.raw) for r in fast.rejects] == [(r.code, r.raw) for r in slow.rejects]


def test_mixed_envelopes_keep_event_order():
    clean = b"\n".join(orjson.dumps(e) for e in GOOD[:5])
    broken = b"\n".join([orjson.dumps(GOOD[5]), b"{not json", orjson.dumps(GOOD[6])])
    payloads = [(clean, {}), (broken, {}), (clean, {})]
    fast = validate_batch(payloads, now=NOW)
    reference = validate_batch(payloads, now=NOW, use_fast=False)
    assert list(fast.events) == reference.events
    assert len(fast.columns) == len(fast.events)


@pytest.mark.parametrize("change", [
    lambda s: s["properties"].__setitem__("n", {"type": "integer"}),
    lambda s: s["properties"]["event_id"].__setitem__("format", "date-time"),  # pattern and format together
    lambda s: s["properties"].__setitem__("flag", {"type": "boolean"}),
    lambda s: s["properties"].__setitem__("not-an-identifier", {"type": "string"}),
    lambda s: s.__setitem__("additionalProperties", False),
])
def test_schemas_beyond_the_typed_decode_are_refused(change):
    schema = load_schema(TELEMETRY_EVENT_V1)
    change(schema)
    with pytest.raises(Unsupported):
        TypedSchema(schema)
