"""Split a raw Kafka message (one event, a JSON array, or NDJSON) into event byte strings."""

from __future__ import annotations

import orjson

from pipeline.validate.rejects import (ENVELOPE_NOT_JSON, ENVELOPE_TOO_LARGE, ENVELOPE_TOO_MANY_EVENTS,
                                       Reject)

MAX_ENVELOPE_BYTES = 8 * 1024 * 1024
MAX_EVENTS_PER_ENVELOPE = 10_000


def split_envelope(payload: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES,
                   max_events: int = MAX_EVENTS_PER_ENVELOPE) -> tuple[list[object], list[Reject]]:
    """Parsed events of one envelope, and rejects for lines that are not JSON.

    NDJSON lines are judged one by one, so a bad line is dead-lettered alone and its neighbours go on.
    """
    if len(payload) > max_bytes:
        return [], [Reject(ENVELOPE_TOO_LARGE, f"envelope of {len(payload)} bytes exceeds {max_bytes}",
                           payload[:4096])]
    stripped = payload.strip()
    if stripped[:1] == b"[":
        try:
            events = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            return [], [Reject(ENVELOPE_NOT_JSON, f"JSON array envelope does not parse: {exc}", payload)]
        if len(events) > max_events:
            return [], [Reject(ENVELOPE_TOO_MANY_EVENTS, f"{len(events)} events exceed {max_events}",
                               payload[:4096])]
        return events, []
    lines = stripped.split(b"\n") if b"\n" in stripped else [stripped]
    if len(lines) > max_events:
        return [], [Reject(ENVELOPE_TOO_MANY_EVENTS, f"{len(lines)} events exceed {max_events}", payload[:4096])]
    events: list[object] = []
    rejects: list[Reject] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            rejects.append(Reject(ENVELOPE_NOT_JSON, f"event is not JSON: {exc}", line))
    return events, rejects
