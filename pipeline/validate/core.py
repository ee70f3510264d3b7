"""Validate a batch of raw envelopes against telemetry-event.v1: valid events out, rejects with reasons out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

import fastjsonschema

from pipeline.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.validate.envelope import split_envelope_with_bytes
from pipeline.validate.rejects import (BAD_TIMESTAMP, EVENT_NOT_OBJECT, SCHEMA_VIOLATION, TIME_OUT_OF_RANGE,
                                       Reject)

# The validated event carries its parsed occurrence time here (epoch milliseconds, UTC).
EVENT_TIME_MS = "_ts_ms"
# …and its original bytes here (what the DLQ must hold if a later stage rejects it).
EVENT_RAW = "_raw"
_compiled_validator = None


def event_validator():
    """The compiled (code-generated) validator of telemetry-event.v1, built once per process."""
    global _compiled_validator
    if _compiled_validator is None:
        _compiled_validator = fastjsonschema.compile(load_schema(TELEMETRY_EVENT_V1))
    return _compiled_validator


@dataclass
class TimeBounds:
    """Accepted event-time range relative to processing time; outside it an event is dead-lettered."""

    max_age: dt.timedelta = dt.timedelta(days=30)
    max_future: dt.timedelta = dt.timedelta(minutes=15)


@dataclass
class ValidatedBatch:
    events: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def parse_time_ms(value: str) -> int | None:
    """RFC 3339 timestamp with offset → epoch ms; None when unparseable or naive (no offset)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def validate_batch(payloads: Iterable[tuple[bytes, dict]], *, now: dt.datetime | None = None,
                   bounds: TimeBounds = TimeBounds()) -> ValidatedBatch:
    """Split each (payload, source) envelope and validate every event in it, independently of its neighbours."""
    validate = event_validator()
    now_ms = int((now or dt.datetime.now(dt.timezone.utc)).timestamp() * 1000)
    earliest = now_ms - int(bounds.max_age.total_seconds() * 1000)
    latest = now_ms + int(bounds.max_future.total_seconds() * 1000)
    batch = ValidatedBatch()
    for payload, source in payloads:
        events, rejects = split_envelope_with_bytes(payload)
        for reject in rejects:
            reject.source = source
        batch.rejects.extend(rejects)
        for event, raw in events:
            if not isinstance(event, dict):
                batch.rejects.append(Reject(EVENT_NOT_OBJECT, f"event is a JSON {type(event).__name__}, not an object",
                                            raw, source))
                continue
            try:
                validate(event)
            except fastjsonschema.JsonSchemaException as exc:
                batch.rejects.append(Reject(SCHEMA_VIOLATION, exc.message, raw, source))
                continue
            except RecursionError:
                batch.rejects.append(Reject(SCHEMA_VIOLATION, "event nested too deeply to validate", raw, source))
                continue
            ts_ms = parse_time_ms(event["occurred_at"])
            if ts_ms is None:
                batch.rejects.append(Reject(BAD_TIMESTAMP, "occurred_at is not an RFC 3339 time with offset", raw, source))
                continue
            if not earliest <= ts_ms <= latest:
                batch.rejects.append(Reject(TIME_OUT_OF_RANGE, "occurred_at outside the accepted range "
                                            f"(-{bounds.max_age}, +{bounds.max_future})", raw, source))
                continue
            event[EVENT_TIME_MS] = ts_ms
            event[EVENT_RAW] = raw  # later stages dead-letter the producer's bytes, not a re-serialization
            batch.events.append(event)
    return batch
