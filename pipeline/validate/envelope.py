"""Split a raw Kafka message (one event, a JSON array, or NDJSON) into parsed events with their original bytes."""

from __future__ import annotations

import gc
from contextlib import contextmanager

import orjson

from pipeline.common.rejects import (ENVELOPE_NOT_JSON, ENVELOPE_TOO_LARGE, ENVELOPE_TOO_MANY_EVENTS,
                                     Reject)

MAX_ENVELOPE_BYTES = 8 * 1024 * 1024
MAX_EVENTS_PER_ENVELOPE = 10_000


def reserialize(event: object) -> bytes:
    """Bytes for an event taken out of a JSON array (its exact original slice is not kept)."""
    try:
        return orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError):  # nesting beyond orjson's writer limit, oversized integers
        return repr(event)[:65536].encode("utf-8", "replace")


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector off for one batch's synchronous work (parse, validate, pseudonymize).

    Parsed JSON holds no reference cycles, so collections during a batch find nothing to free, yet each of
    the thousands of new dicts and lists counts towards the next one, and the batch's events, alive throughout,
    are scanned again and again as they move up the generations: a third of the parse time, a tenth of the
    ingest step's. Freed by reference counting when the batch is dropped, they never reach a collection; any
    cycle made meanwhile waits for the next one. Left as found (a caller that keeps the collector off keeps it
    off).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def split_envelope_with_bytes(payload: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES,
                              max_events: int = MAX_EVENTS_PER_ENVELOPE) -> tuple[list[tuple[object, bytes]], list[Reject]]:
    """(parsed event, its bytes) for every event of one envelope, and rejects for parts that are not JSON.

    NDJSON lines are judged one by one, so a bad line is dead-lettered alone and its neighbours go on; the bytes
    kept for an NDJSON event are exactly its line, so the DLQ holds what the producer sent.
    """
    if len(payload) > max_bytes:
        return [], [Reject(ENVELOPE_TOO_LARGE, f"envelope of {len(payload)} bytes exceeds {max_bytes}",
                           payload[:4096])]
    stripped = payload.strip()
    if stripped[:1] in (b"[", b"{") and b"\n" in stripped:
        # A JSON array, or one pretty-printed object, spread over several lines: parse it whole first.
        try:
            whole = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            whole = None  # not one document: NDJSON after all (e.g. a first line that is a bare '[')
        if isinstance(whole, dict):
            return [(whole, stripped)], []
        if isinstance(whole, list):
            return _array(whole, payload, max_events)
    elif stripped[:1] == b"[":
        try:
            return _array(orjson.loads(stripped), payload, max_events)
        except orjson.JSONDecodeError as exc:
            return [], [Reject(ENVELOPE_NOT_JSON, f"JSON array envelope does not parse: {exc}", payload)]
    lines = stripped.split(b"\n") if b"\n" in stripped else [stripped]
    if len(lines) > max_events:
        return [], [Reject(ENVELOPE_TOO_MANY_EVENTS, f"{len(lines)} events exceed {max_events}", payload[:4096])]
    if b"\r" not in stripped:
        # The common envelope, every line one JSON document: parsed in one C-level pass. Any line that does not
        # parse (blank, broken) sends the whole envelope through the line-by-line loop below.
        try:
            with collector_paused():
                return list(zip(map(orjson.loads, lines), lines)), []
        except orjson.JSONDecodeError:
            pass
    events: list[tuple[object, bytes]] = []
    rejects: list[Reject] = []
    for line in lines:
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            events.append((orjson.loads(line), line))
        except orjson.JSONDecodeError as exc:
            rejects.append(Reject(ENVELOPE_NOT_JSON, f"event is not JSON: {exc}", line))
    return events, rejects


def _array(events: list, payload: bytes, max_events: int) -> tuple[list[tuple[object, bytes]], list[Reject]]:
    if len(events) > max_events:
        return [], [Reject(ENVELOPE_TOO_MANY_EVENTS, f"{len(events)} events exceed {max_events}", payload[:4096])]
    return [(event, reserialize(event)) for event in events], []
