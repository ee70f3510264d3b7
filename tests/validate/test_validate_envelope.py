"""Envelope splitting and per-event validation: one table row per envelope shape, a comment per row."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from pipeline.common.event import EVENT_RAW
from pipeline.common.rejects import (ENVELOPE_NOT_JSON, ENVELOPE_TOO_LARGE, EVENT_NOT_OBJECT,
                                     SCHEMA_VIOLATION, TIME_OUT_OF_RANGE)
from pipeline.validate.core import validate_batch
from pipeline.validate.envelope import split_envelope_with_bytes

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
GOOD = {"event_id": "abcdef123", "event_type": "app_open", "occurred_at": "2026-11-20T10:00:00+05:00",
        "app": {"version": "2.4.1", "platform": "android"}, "device_id": "d-1", "ip": "95.56.1.2"}
G = orjson.dumps(GOOD)


@pytest.mark.parametrize("payload, events, rejects", [
    (G, 1, 0),                                    # one event object
    (G + b"\n" + G, 2, 0),                        # NDJSON
    (b"[" + G + b"," + G + b"]", 2, 0),           # JSON array
    (b"[\n" + G + b"\n]", 1, 0),                  # JSON array spread over lines
    (orjson.dumps(GOOD, option=orjson.OPT_INDENT_2), 1, 0),  # one pretty-printed object
    (b"[\n" + G, 1, 1),                           # NDJSON whose first line is a bare '[': neighbours survive
    (G + b"\n{broken\n" + G, 2, 1),               # a bad line is rejected alone
    (b"[" + G + b",", 0, 1),                      # a broken array has no neighbours to save
    (b"   \n\n", 0, 0),                           # blank envelope: nothing
])
def test_split(payload, events, rejects):
    pairs, bad = split_envelope_with_bytes(payload)
    assert (len(pairs), len(bad)) == (events, rejects)
    assert all(r.code == ENVELOPE_NOT_JSON for r in bad)


def test_oversize_envelope_is_one_reject():
    pairs, bad = split_envelope_with_bytes(G * 10, max_bytes=100)
    assert pairs == [] and [r.code for r in bad] == [ENVELOPE_TOO_LARGE]


@pytest.mark.parametrize("change, code", [
    ({"ip": 5}, SCHEMA_VIOLATION),                          # wrong type
    ({"event_type": "hack"}, SCHEMA_VIOLATION),             # not in the enum
    ({"occurred_at": "2026-11-20T10:00:00"}, SCHEMA_VIOLATION),  # no offset: ambiguous, not RFC 3339
    ({"occurred_at": "2099-01-01T00:00:00+00:00"}, TIME_OUT_OF_RANGE),  # far future
    ({"occurred_at": "2020-01-01T00:00:00+00:00"}, TIME_OUT_OF_RANGE),  # far past
])
def test_invalid_events_are_rejected_with_their_original_bytes(change, code):
    line = orjson.dumps({**GOOD, **change})
    batch = validate_batch([(G + b"\n" + line, {"offset": 7})], now=NOW)
    assert len(batch.events) == 1
    assert [(r.code, r.raw, r.source) for r in batch.rejects] == [(code, line, {"offset": 7})]


def test_non_object_event_and_unknown_fields():
    batch = validate_batch([(b"[1, " + orjson.dumps({**GOOD, "secret_extra": "x"}) + b"]", {})], now=NOW)
    assert [r.code for r in batch.rejects] == [EVENT_NOT_OBJECT]
    assert len(batch.events) == 1 and batch.events[0][EVENT_RAW]
