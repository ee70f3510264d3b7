"""Validate a batch of raw envelopes against telemetry-event.v1: valid events out, rejects with reasons out."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Iterable

import fastjsonschema
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.common.event import EVENT_RAW, EVENT_TIME_MS, TypedEvents
from pipeline.common.rejects import (BAD_TIMESTAMP, EVENT_NOT_OBJECT, SCHEMA_VIOLATION, TIME_OUT_OF_RANGE,
                                     Reject)
from pipeline.validate.envelope import MAX_ENVELOPE_BYTES, MAX_EVENTS_PER_ENVELOPE, split_envelope_with_bytes
from pipeline.validate.fast import FastCheck, Unsupported
from pipeline.validate.typed import TypedSchema


@functools.cache
def event_validator():
    """The compiled (code-generated) validator of telemetry-event.v1, built once per process."""
    return fastjsonschema.compile(load_schema(TELEMETRY_EVENT_V1))


def _within(build: type[FastCheck] | type[TypedSchema]) -> FastCheck | TypedSchema | None:
    """`build` of telemetry-event.v1, or None when the schema uses keywords it does not implement."""
    try:
        return build(load_schema(TELEMETRY_EVENT_V1))
    except Unsupported:
        return None


@functools.cache
def fast_check() -> FastCheck | None:
    """The column-wise check of telemetry-event.v1 (None: the schema is beyond it), built once per process."""
    return _within(FastCheck)


@functools.cache
def typed_schema() -> TypedSchema | None:
    """msgspec types of telemetry-event.v1 (None: the schema is beyond them), built once per process."""
    return _within(TypedSchema)


@dataclass
class TimeBounds:
    """Accepted event-time range relative to processing time; outside it an event is dead-lettered."""

    max_age: dt.timedelta = dt.timedelta(days=30)
    max_future: dt.timedelta = dt.timedelta(minutes=15)


@dataclass
class ValidatedBatch:
    # Dicts, or a TypedEvents (a sequence that builds each dict when asked) when every envelope was typed.
    events: list[dict] | TypedEvents = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # The events' typed fields (and EVENT_TIME_MS) as one Arrow struct, row for row, when the fast check built
    # it; the pseudonymize kernel reuses it instead of converting the dicts again. None: not available.
    columns: pa.StructArray | None = None
    # Where each event came from, row for row: the index of its payload in the input, and its index among that
    # envelope's events (the ingest stage derives the event's source position from both).
    payload_of: np.ndarray | None = None
    index_in_payload: np.ndarray | None = None


def parse_time_ms(value: str) -> int | None:
    """RFC 3339 timestamp with offset → epoch ms; None when unparseable or naive (no offset)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


# The plain RFC 3339 form (upper-case T and Z, at most microseconds, seconds below 60, years Arrow and Python
# agree on): Arrow's ISO 8601 cast reads exactly these as parse_time_ms does; any other form is parsed per event.
_PLAIN_TIME = (r"^(?:19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
               r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])$")
_EPOCH_TEXT = pa.scalar("1970-01-01T00:00:00Z")
_UTC_MICROS = pa.timestamp("us", tz="UTC")


def column_times_ms(values: pa.Array, rows: np.ndarray) -> list[int | None]:
    """parse_time_ms of each string in `values` where `rows` is set and the text has the plain form (the date
    itself already checked valid), computed column-wise; None elsewhere (the caller parses those one by one)."""
    if not len(values):
        return []
    plain = pc.and_(pc.fill_null(pc.match_substring_regex(values, _PLAIN_TIME), False), pa.array(rows, pa.bool_()))
    try:
        micros = pc.cast(pc.if_else(plain, values, _EPOCH_TEXT), _UTC_MICROS).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not expected; then every event is parsed alone
        return [None] * len(values)
    # datetime.timestamp() is the exact microsecond count divided by 10**6 (correctly rounded, as this float64
    # division is), then parse_time_ms multiplies by 1000 and truncates: the same float steps in numpy.
    millis = (micros.to_numpy(zero_copy_only=False) / 1e6 * 1000).astype(np.int64)
    return pa.array(millis, mask=~plain.to_numpy(zero_copy_only=False)).to_pylist()


def validate_batch(payloads: Iterable[tuple[bytes, dict]], *, now: dt.datetime | None = None,
                   bounds: TimeBounds = TimeBounds(), use_fast: bool = True) -> ValidatedBatch:
    """Split each (payload, source) envelope and validate every event in it, independently of its neighbours.

    A clean NDJSON envelope (every line a valid event in the time range) is decoded typed straight into Arrow
    columns, its dicts built only on demand (TypedEvents). In other envelopes, events the column-wise fast check
    clears skip the per-event validator; the others (and every event with use_fast=False, the reference) are
    judged by fastjsonschema, so events and rejects are the same either way.
    """
    validate = event_validator()
    now_ms = int((now or dt.datetime.now(dt.timezone.utc)).timestamp() * 1000)
    earliest = now_ms - int(bounds.max_age.total_seconds() * 1000)
    latest = now_ms + int(bounds.max_future.total_seconds() * 1000)
    batch = ValidatedBatch()
    check = fast_check() if use_fast else None
    typed = typed_schema() if use_fast and check is not None else None
    parts: list[pa.StructArray] | None = [] if check is not None else None
    # Typed envelopes whose dicts stay unbuilt, while every envelope so far was typed; None after the first that
    # was not (from then on every event is a dict in batch.events, in envelope order).
    typed_parts: list[TypedEvents] | None = []
    origins: list[tuple[int, np.ndarray]] = []  # (payload index, event indices) per payload
    for number, (payload, source) in enumerate(payloads):
        clean = _typed_envelope(payload, typed, earliest, latest) if typed is not None else None
        if clean is not None:
            typed_events, struct = clean
            if typed_parts is not None:
                typed_parts.append(typed_events)
            else:
                batch.events.extend(typed_events)
            if parts is not None:
                parts.append(struct)
            origins.append((number, np.arange(len(typed_events), dtype=np.int64)))
            continue
        if typed_parts:  # the first envelope that is not typed: build the dicts before its events
            batch.events.extend(TypedEvents.concat(typed_parts))
        typed_parts = None
        events, rejects = split_envelope_with_bytes(payload)
        for reject in rejects:
            reject.source = source
        batch.rejects.extend(rejects)
        objects = [(event, raw) for event, raw in events if isinstance(event, dict)]
        cleared: np.ndarray | list = [False] * len(objects)
        times: list[int | None] = [None] * len(objects)  # event times parsed column-wise (None: parse per event)
        if check is not None and objects:
            struct, cleared, misfits = check.check([e for e, _ in objects], [r for _, r in objects])
            index = struct.type.get_field_index("occurred_at")
            if index >= 0 and pa.types.is_string(struct.type.field(index).type):
                times = column_times_ms(struct.field(index), cleared)
            if len(objects) == len(events) and cleared.all() and None not in times \
                    and earliest <= min(times) and max(times) <= latest:
                # The common envelope: every event an object the fast check cleared, its time read column-wise
                # and in range. What the loop below would do, without its per-event branches.
                for (event, raw), ts_ms in zip(objects, times):
                    event[EVENT_TIME_MS] = ts_ms
                    event[EVENT_RAW] = raw
                batch.events.extend([event for event, _ in objects])
                if parts is not None:
                    parts.append(_with_times(struct, times))
                origins.append((number, np.arange(len(objects), dtype=np.int64)))
                continue
        kept: list[int] = []  # indices into `objects` of accepted events
        kept_times: list[int] = []
        position = -1
        accepted: list[int] = []  # indices into `events` of accepted events
        for index, (event, raw) in enumerate(events):
            if not isinstance(event, dict):
                batch.rejects.append(Reject(EVENT_NOT_OBJECT, f"event is a JSON {type(event).__name__}, not an object",
                                            raw, source))
                continue
            position += 1
            if not cleared[position]:  # the fast check could not vouch for it: the reference validator decides
                try:
                    validate(event)
                except fastjsonschema.JsonSchemaException as exc:
                    batch.rejects.append(Reject(SCHEMA_VIOLATION, exc.message, raw, source))
                    continue
                except RecursionError:
                    batch.rejects.append(Reject(SCHEMA_VIOLATION, "event nested too deeply to validate", raw, source))
                    continue
            ts_ms = times[position]
            if ts_ms is None:
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
            kept.append(position)
            kept_times.append(ts_ms)
            accepted.append(index)
        origins.append((number, np.array(accepted, dtype=np.int64)))
        if parts is not None and objects:
            if set(kept) & set(misfits):  # valid yet not convertible: let the kernel convert (and judge) it
                parts = None
            else:
                parts.append(_with_times(struct.take(pa.array(kept, pa.int32())), kept_times))
    if typed_parts:
        batch.events = TypedEvents.concat(typed_parts)
    if origins:
        batch.payload_of = np.concatenate([np.full(len(indices), number, np.int64) for number, indices in origins])
        batch.index_in_payload = np.concatenate([indices for _, indices in origins])
    if parts is not None and batch.events:
        batch.columns = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return batch


def _typed_envelope(payload: bytes, typed: TypedSchema, earliest: int,
                    latest: int) -> tuple[TypedEvents, pa.StructArray] | None:
    """The common envelope (NDJSON, every line a valid event in the time range) decoded typed, or None.

    None sends the envelope down the reference path, which then decides every line and writes the rejects: an
    envelope is taken here whole or not at all, so what an envelope yields never depends on this path.
    """
    if len(payload) > MAX_ENVELOPE_BYTES:
        return None
    stripped = payload.strip()
    if stripped[:1] != b"{" or b"\r" in stripped:
        return None
    lines = stripped.split(b"\n")
    if len(lines) > MAX_EVENTS_PER_ENVELOPE:
        return None
    decoded = typed.decode_lines(lines)
    if decoded is None:
        return None
    struct = typed.to_arrow(decoded)
    if not typed.patterns_hold(struct):
        return None
    times = column_times_ms(struct.field("occurred_at"), np.ones(len(lines), dtype=bool))
    if None in times or min(times) < earliest or max(times) > latest:
        return None
    free_form = {name: typed.free_form_values(decoded, name) for name in typed.free_form}
    if None in free_form.values():
        return None
    return TypedEvents(lines, times, free_form, EVENT_TIME_MS, EVENT_RAW), _with_times(struct, times)


def _with_times(struct: pa.StructArray, times: list[int]) -> pa.StructArray:
    """`struct` with the parsed event times as one more field (EVENT_TIME_MS)."""
    children = struct.flatten()  # the top-level struct has no nulls: every row is an object
    names = [struct.type.field(i).name for i in range(struct.type.num_fields)]
    return pa.StructArray.from_arrays([*children, pa.array(times, pa.int64())], names=[*names, EVENT_TIME_MS])
