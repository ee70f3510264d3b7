"""Reject records: why an event or envelope went to the dead-letter topic, with its original bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import orjson

from pipeline.common.positions import MAX_INDEX, position
from pipeline.common.wire import MAX_MESSAGE_BYTES

# Machine-readable reason codes, stable across versions: dashboards and tests key on them.
ENVELOPE_NOT_JSON = "envelope_not_json"
ENVELOPE_TOO_LARGE = "envelope_too_large"
ENVELOPE_TOO_MANY_EVENTS = "envelope_too_many_events"
EVENT_NOT_OBJECT = "event_not_object"
SCHEMA_VIOLATION = "schema_violation"
BAD_TIMESTAMP = "bad_timestamp"
TIME_OUT_OF_RANGE = "time_out_of_range"
INVALID_IP = "invalid_ip"
INVALID_VALUE = "invalid_value"
INTERNAL_ERROR = "internal_error"


# The DLQ keeps at most this much of a rejected event's bytes: enough to debug, and a hostile multi-MB event
# cannot make a dead-letter message larger than the broker accepts (which would stall the partition).
MAX_RAW_BYTES = 64 * 1024


# Where a dead letter came from (its `source`): the raw message ("topic", "partition", "offset") and its place in
# that message, one of
#   "index": n         the n-th event of the envelope (0 for a one-event message): the index part of the source
#                      position an accepted event gets, so an event is in the lake or the DLQ under one position;
#   "unparsed": n      the n-th part of the envelope that is not JSON (an NDJSON line, or an array that does not parse);
#   "whole_message": true   the message was rejected as a whole (too large, too many events).
# The DLQ sink leaves out dead letters whose position a DLQ file already holds (pipeline/lake/dlq.py); a source
# without any of the three (older versions) has no position and is always written.
INDEX, UNPARSED, WHOLE_MESSAGE = "index", "unparsed", "whole_message"


def reject_position(source) -> int | None:
    """The source position of a dead letter within its raw partition; None when its source does not say.

    Events take the positions accepted events take (offset, index); unparsed parts count down from the top of the
    index space and a whole message takes the top: an envelope has at most 10,000 lines, so they never meet.
    """
    if not isinstance(source, dict):
        return None
    offset = source.get("offset")
    if not _count(offset):
        return None
    if _count(source.get(INDEX)):
        return position(offset, source[INDEX]) if source[INDEX] <= MAX_INDEX else None
    if _count(source.get(UNPARSED)):
        return position(offset, MAX_INDEX - 1 - source[UNPARSED]) if source[UNPARSED] < MAX_INDEX else None
    if source.get(WHOLE_MESSAGE) is True:
        return position(offset, MAX_INDEX)
    return None


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(slots=True)
class Reject:
    """One dead-lettered event (or a whole envelope that could not be split into events)."""

    code: str
    reason: str
    raw: bytes
    source: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        raw = self.raw[:MAX_RAW_BYTES]
        try:
            raw_text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw_text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
        entry = {"code": self.code, "reason": self.reason, "raw": raw_text, "raw_encoding": encoding,
                 "source": self.source}
        if len(self.raw) > MAX_RAW_BYTES:
            entry.update(raw_truncated=True, raw_bytes=len(self.raw))
        return entry


def encode_rejects(rejects: list[Reject]) -> bytes:
    """One DLQ message per batch of rejects (NDJSON), like every other topic carries batches."""
    return b"\n".join(orjson.dumps(r.to_json()) for r in rejects)


def encode_reject_messages(rejects: list[Reject], max_bytes: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """NDJSON messages of at most `max_bytes` each (one line may exceed it only if a single reject does)."""
    messages: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for reject in rejects:
        line = orjson.dumps(reject.to_json())
        if current and size + len(line) + 1 > max_bytes:
            messages.append(b"\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        messages.append(b"\n".join(current))
    return messages


def decode_rejects(payload: bytes) -> list[dict]:
    return [orjson.loads(line) for line in payload.splitlines() if line.strip()]
