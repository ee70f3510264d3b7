"""The client's raw event id never reaches the restricted zone under the default policy: only its keyed HMAC,
which retries of one event share (so duplicates stay detectable) and which joins to nothing outside."""

from __future__ import annotations

import datetime as dt

from pipeline.common.event import EVENT_TIME_MS
from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch

UTC = dt.timezone.utc
RING = KeyRing([Key("m1", dt.datetime(2026, 10, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, tzinfo=UTC), ACTIVE,
                    b"\x31" * 32)])
TS = int(dt.datetime(2026, 10, 5, tzinfo=UTC).timestamp() * 1000)


def _event(event_id: str) -> dict:
    return {"event_id": event_id, "event_type": "app_open", "occurred_at": "2026-10-05T00:00:00+00:00",
            "app": {"version": "3.1.0", "platform": "android"}, "ip": "95.56.1.7", EVENT_TIME_MS: TS}


def test_raw_event_id_is_not_kept_and_retries_share_the_pseudonym():
    raw = "7f3a9c2e51d04b8f9a6e0c1d2b3a4f5e"
    table = pseudonymize_batch([_event(raw), _event(raw), _event("other")], load_policy(), RING).table
    assert "event_id" not in table.column_names
    values = [str(v) for column in table.columns for v in column.to_pylist()]
    assert not any(raw in v for v in values)
    tokens = table.column("event_pseudonym").to_pylist()
    assert tokens[0] == tokens[1] != tokens[2] and len(tokens[0]) == 32
