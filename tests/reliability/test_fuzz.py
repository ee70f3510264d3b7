"""Issue 8.2: property-based fuzzing of the validate and pseudonymize cores: they never raise, and every input
event comes out either valid or rejected (nothing vanishes, nothing is invented)."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from harness import GENERATED_UNTIL, make_keyring, traceable_policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.generate import TelemetryGenerator
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import validate_batch

NOW = GENERATED_UNTIL + dt.timedelta(hours=1)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
# Nesting stays within what orjson can write (255): deeper rejected events are a known bug (test_reliability_kernel).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
GOOD = list(TelemetryGenerator(3, end=GENERATED_UNTIL, hours=3).events(50))
FIELDS = ["event_id", "event_type", "occurred_at", "app", "user_id", "device_id", "cookie_id", "session_id", "ip",
          "user_agent", "geo", "device", "properties", "text", "unknown"]


def first_line() -> bytes:
    """A valid first line, so the envelope is judged as NDJSON line by line (see test_reliability_kernel)."""
    return orjson.dumps(GOOD[0])


def accounted(payload_lines: list[bytes]) -> int:
    return sum(1 for line in payload_lines if line.strip())


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    return make_keyring(tmp_path_factory.mktemp("fuzz") / "keyring.json")


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    # the raw event id is kept so each output row can be traced to an input event; the default policy keeps only
    # its HMAC (event_pseudonym), which the accounting check below could not compare without reusing that code
    return load_policy(traceable_policy(tmp_path_factory.mktemp("fuzz-policy")))


@FUZZ
@given(st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ")), max_size=15))
def test_arbitrary_bytes_lines_are_each_valid_or_rejected(lines):
    payload_lines = [first_line(), *lines]
    batch = validate_batch([(b"\n".join(payload_lines), {"offset": 1})], now=NOW)
    assert len(batch.events) + len(batch.rejects) == accounted(payload_lines)
    assert all(r.code and r.reason for r in batch.rejects)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_envelope_never_raises(payload):
    batch = validate_batch([(payload, {})], now=NOW)
    assert len(batch.events) + len(batch.rejects) >= (1 if payload.strip() else 0)


@FUZZ
@given(st.lists(JSON, max_size=15))
def test_arbitrary_json_values_are_each_valid_or_rejected(values):
    payload_lines = [first_line(), *(orjson.dumps(v) for v in values)]
    batch = validate_batch([(b"\n".join(payload_lines), {})], now=NOW)
    assert len(batch.events) + len(batch.rejects) == len(payload_lines)
    as_array = validate_batch([(orjson.dumps([GOOD[0], *values]), {})], now=NOW)
    assert len(as_array.events) + len(as_array.rejects) == len(values) + 1


@st.composite
def events_with_mutations(draw):
    """Real events with some fields replaced by arbitrary JSON values or dropped: schema-valid-ish."""
    out = []
    for _ in range(draw(st.integers(1, 8))):
        event = dict(draw(st.sampled_from(GOOD)))
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
            if draw(st.booleans()):
                event.pop(name, None)
            else:
                event[name] = draw(JSON)
        out.append(event)
    return out


@st.composite
def schema_valid_events(draw):
    """Real events whose free-form fields hold arbitrary strings within the contract's lengths."""
    out = []
    for _ in range(draw(st.integers(1, 8))):
        event = orjson.loads(orjson.dumps(draw(st.sampled_from(GOOD))))
        event["user_id"] = draw(st.none() | st.text(min_size=1, max_size=128))
        event["device_id"] = draw(st.text(min_size=1, max_size=128))
        event["session_id"] = draw(st.none() | st.text(min_size=1, max_size=128))
        event["user_agent"] = draw(st.none() | st.text(max_size=300))
        event["text"] = draw(st.none() | st.text(max_size=300))
        event["ip"] = draw(st.ip_addresses().map(str) | st.text(min_size=2, max_size=45))
        event["geo"] = draw(st.none() | st.fixed_dictionaries({
            "lat": st.floats(-90, 90), "lon": st.floats(-180, 180),
            "accuracy_m": st.none() | st.floats(0, 1_000_000)}))
        event["properties"] = draw(st.none() | st.dictionaries(
            st.text(max_size=10), st.none() | st.booleans() | st.text(max_size=20) | st.floats(allow_nan=False,
                                                                                               allow_infinity=False),
            max_size=16))
        event["device"] = draw(st.none() | st.fixed_dictionaries({}, optional={
            "manufacturer": st.none() | st.text(max_size=64), "model": st.none() | st.text(max_size=64),
            "os": st.none() | st.text(max_size=32), "os_version": st.none() | st.text(max_size=32),
            "locale": st.none() | st.text(max_size=16)}))
        out.append(event)
    return out


def check_pseudonymize(events, policy, ring):
    batch = validate_batch([(b"\n".join(orjson.dumps(e) for e in events), {})], now=NOW)
    assert len(batch.events) + len(batch.rejects) == len(events)
    result = pseudonymize_batch(batch.events, policy, ring, {}, {})
    assert result.table.num_rows + len(result.rejects) == len(batch.events)
    assert set(result.table.column("event_id").to_pylist()) <= {e["event_id"] for e in batch.events}
    return result


@FUZZ
@given(events=events_with_mutations())
def test_pseudonymize_accounts_for_mutated_events(events, policy, ring):
    check_pseudonymize(events, policy, ring)


@FUZZ
@given(events=schema_valid_events())
def test_pseudonymize_accounts_for_schema_valid_events(events, policy, ring):
    result = check_pseudonymize(events, policy, ring)
    assert {r.code for r in result.rejects} <= {"invalid_ip", "invalid_value"}
