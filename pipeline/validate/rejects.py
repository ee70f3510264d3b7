"""Reject records: why an event or envelope went to the dead-letter topic, with its original bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import orjson

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


@dataclass(slots=True)
class Reject:
    """One dead-lettered event (or a whole envelope that could not be split into events)."""

    code: str
    reason: str
    raw: bytes
    source: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        try:
            raw_text, encoding = self.raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw_text, encoding = base64.b64encode(self.raw).decode("ascii"), "base64"
        return {"code": self.code, "reason": self.reason, "raw": raw_text, "raw_encoding": encoding,
                "source": self.source}


def encode_rejects(rejects: list[Reject]) -> bytes:
    """One DLQ message per batch of rejects (NDJSON), like every other topic carries batches."""
    return b"\n".join(orjson.dumps(r.to_json()) for r in rejects)


def decode_rejects(payload: bytes) -> list[dict]:
    return [orjson.loads(line) for line in payload.splitlines() if line.strip()]
