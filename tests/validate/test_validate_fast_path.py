"""The column-wise fast check: same events, reject codes, reasons and bytes as fastjsonschema on every event."""

from __future__ import annotations

import copy
import datetime as dt
import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.generate import TelemetryGenerator
from pipeline.keys.ring import ephemeral_ring
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import fast_check, validate_batch
from pipeline.validate.fast import FastCheck, Unsupported

END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
NOW = END + dt.timedelta(minutes=5)
GOOD = list(TelemetryGenerator(11, end=END, hours=3).events(40))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Values chosen to sit on the edges the fast check decides: types Arrow converts loosely (bool → float,
# list → struct), lengths and bounds at the limit, patterns with a trailing newline, Unicode digits, nulls.
EDGE_VALUES = [
    None, True, False, 0, 1, 0.0, 1.0, -1, 90, 90.0000001, -90, 180, -180.5, 1_000_000, 1_000_001, 2**63, -(2**63),
    10**30, 1.5, "", "a", "ab", "abcdefgh", "abcdefg", "x" * 64, "x" * 65, "abc\n", "abcdefgh\n", "2.4.1", "2.4.1\n",
    "1.2.3.4.5", "12345.1", "٣.٤", "1080x2400", "1080x2400\n", "1x2", "android", "ios", "web", "Android", "wifi",
    "offline", "app_open", "app_open ", "2026-11-20T10:00:00+05:00", "2026-11-20T10:00:00.123+05:00",
    "2026-11-20T10:00:00", "2026-11-20t10:00:00Z", "2026-11-20T10:00:00+0500", "2026-02-29T10:00:00Z",
    "2024-02-29T10:00:00Z", "2026-11-20T10:00:60+05:00", "٢٠٢٦-11-20T10:00:00Z", "2026-11-20T10:00:00+05:00\n",
    "95.56.1.2", "10.0.0.1", "u" * 129, [], [1], [["version", "2.4.1"], ["platform", "ios"]], {}, {"a": 1},
    {"version": "2.4.1", "platform": "ios"}, {"lat": 51.1, "lon": 71.4}, {"lat": True, "lon": 71.4},
    {"lat": 1, "lon": 0}, {"lat": 51.1}, {"lat": 51.1, "lon": 71.4, "accuracy_m": None},
    {"lat": 51.1, "lon": 71.4, "accuracy_m": False}, {"screen": "1x1"}, {"network": None}, {"network": "lte"},
    {f"k{i}": i for i in range(17)}, {"k": [1]}, {"k": {"a": 1}}, {"k": True}, {"k": None},
]
PATHS = ["event_id", "event_type", "occurred_at", "app", "app.version", "app.platform", "app.build", "user_id",
         "device_id", "cookie_id", "session_id", "ip", "user_agent", "geo", "geo.lat", "geo.lon", "geo.accuracy_m",
         "device", "device.model", "device.screen", "device.network", "device.locale", "properties",
         "properties.screen", "text", "schema_version", "unknown_extra"]
MUTATION = st.tuples(st.sampled_from(PATHS), st.one_of(st.sampled_from(EDGE_VALUES), st.just("<delete>")))


def dumps(value) -> bytes:
    """JSON bytes of any test value (the stdlib writes integers beyond 64 bits, orjson does not)."""
    return json.dumps(value, ensure_ascii=False).encode()


def mutate(event: dict, path: str, value) -> dict:
    event = copy.deepcopy(event)
    *parents, name = path.split(".")
    node = event
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value == "<delete>":
        node.pop(name, None)
    else:
        node[name] = copy.deepcopy(value)
    return event


def outcome(payload: bytes, use_fast: bool):
    batch = validate_batch([(payload, {"offset": 3})], now=NOW, use_fast=use_fast)
    return ([(r.code, r.reason, r.raw, r.source) for r in batch.rejects],
            [orjson.dumps(e, option=orjson.OPT_SORT_KEYS, default=repr) for e in batch.events]), batch


def assert_same(payload: bytes) -> None:
    fast, fast_batch = outcome(payload, True)
    reference, _ = outcome(payload, False)
    assert fast == reference
    if fast_batch.columns is not None:
        assert len(fast_batch.columns) == len(fast_batch.events)


def test_shipped_schema_is_within_the_fast_check():
    assert fast_check() is not None  # else every event silently takes the slow path


def test_generated_events_are_cleared_by_the_fast_check():
    events = [dict(e) for e in GOOD]
    check = fast_check()
    raws = [orjson.dumps(e) for e in events]
    _, cleared, misfits = check.check(events, raws)
    assert cleared.all() and not misfits


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.lists(MUTATION, max_size=3)), min_size=1, max_size=12))
def test_fast_and_reference_paths_agree_on_mutated_events(rows):
    lines = [orjson.dumps(GOOD[0])]  # a valid first line keeps the envelope NDJSON
    for index, mutations in rows:
        event = GOOD[index]
        for path, value in mutations:
            event = mutate(event, path, value)
        lines.append(dumps(event))
    assert_same(b"\n".join(lines))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.lists(MUTATION, max_size=2)), min_size=1, max_size=6))
def test_fast_and_reference_paths_agree_on_json_array_envelopes(rows):
    events = [GOOD[0]]
    for index, mutations in rows:
        event = GOOD[index]
        for path, value in mutations:
            event = mutate(event, path, value)
        events.append(event)
    assert_same(dumps([*events, 7, "x"]))


def test_fast_and_reference_paths_agree_on_the_generators_malformed_events():
    generator = TelemetryGenerator(5, end=END, hours=3)
    lines = list(generator.lines(3000, malformed_fraction=0.2))
    for start in range(0, len(lines), 500):
        assert_same(b"\n".join(lines[start:start + 500]))


@pytest.mark.parametrize("malformed, envelopes", [(0.05, 1), (0.0, 3), (0.05, 3)])
def test_kernel_output_is_the_same_with_the_validators_columns(malformed, envelopes):
    # Clean envelopes take the validator's whole-envelope path, the others its per-event loop.
    lines = list(TelemetryGenerator(6, end=END, hours=3).lines(1500, malformed_fraction=malformed))
    policy, ring = load_policy(), ephemeral_ring("monthly", END)
    size = -(-len(lines) // envelopes)
    batch = validate_batch([(b"\n".join(lines[i:i + size]), {}) for i in range(0, len(lines), size)], now=NOW)
    assert batch.columns is not None
    with_columns = pseudonymize_batch(batch.events, policy, ring, {}, {}, columns=batch.columns)
    from_dicts = pseudonymize_batch(batch.events, policy, ring, {}, {})
    assert with_columns.table.equals(from_dicts.table)
    assert [(r.code, r.reason, r.raw) for r in with_columns.rejects] == \
        [(r.code, r.reason, r.raw) for r in from_dicts.rejects]


@pytest.mark.parametrize("change", [
    {"additionalProperties": False},                       # a keyword the fast check does not implement
    {"properties": {"x": {"type": "string", "pattern": "^\\d+$"}}},  # \d means more in Python than in RE2
    {"properties": {"x": {"type": "integer"}}},            # a type it does not convert
])
def test_unsupported_schemas_are_refused_not_half_checked(change):
    schema = copy.deepcopy(load_schema(TELEMETRY_EVENT_V1))
    for key, value in change.items():
        if key == "properties":
            schema["properties"].update(value)
        else:
            schema[key] = value
    with pytest.raises(Unsupported):
        FastCheck(schema)


# occurred_at in the many spellings RFC 3339 and Python allow: offsets with and without a colon, Z, fractions of
# 0-9 digits (float rounding of milliseconds), upper and lower case, near the accepted window and far from it.
@st.composite
def time_texts(draw) -> str:
    moment = draw(st.datetimes(min_value=dt.datetime(1965, 1, 1), max_value=dt.datetime(2100, 1, 1))
                  | st.datetimes(min_value=dt.datetime(2026, 10, 20), max_value=dt.datetime(2026, 11, 21)))
    minutes = draw(st.integers(-24 * 60 + 1, 24 * 60 - 1))
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    zone = draw(st.sampled_from(["Z", "z", f"{sign}{hours:02d}:{mins:02d}", f"{sign}{hours:02d}{mins:02d}"]))
    fraction = draw(st.sampled_from(["", "." + f"{moment.microsecond:06d}"[:draw(st.integers(1, 6))],
                                     f".{moment.microsecond:06d}{draw(st.integers(0, 999))}"]))
    sep = draw(st.sampled_from(["T", "T", "t", " "]))
    return moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + fraction + zone


@SETTINGS
@given(texts=st.lists(time_texts(), min_size=1, max_size=8))
def test_column_times_equal_per_event_parse(texts):
    events = [mutate(GOOD[i % len(GOOD)], "occurred_at", text) for i, text in enumerate(texts)]
    assert_same(b"\n".join(dumps(e) for e in events))


def test_column_times_match_parse_time_ms():
    from pipeline.validate.core import column_times_ms, parse_time_ms
    texts = ["2026-11-20T10:00:00.589+05:00", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.1-0330",
             "2026-11-20t10:00:00z", "2026-11-20T10:00:00.1234567Z", None]
    import numpy as np
    import pyarrow as pa
    got = column_times_ms(pa.array(texts, pa.string()), np.ones(len(texts), dtype=bool))
    assert got[:3] == [parse_time_ms(t) for t in texts[:3]]
    assert got[3:] == [None, None, None]  # other spellings are left to the per-event parse
