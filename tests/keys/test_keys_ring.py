"""Key ring: refuses loose files, short keys and overlaps; picks the key by event time; never leaks secrets."""

import base64
import datetime as dt
import json
import os

import numpy as np
import pytest

from pipeline.keys.ring import ACTIVE, DESTROYED, Key, KeyRing, KeyRingError

UTC = dt.UTC
OCT, NOV, DEC = (dt.datetime(2026, m, 1, tzinfo=UTC) for m in (10, 11, 12))
SECRET_A, SECRET_B = b"A" * 32, b"B" * 32


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def ring_json(secret_a=SECRET_A, nov_start=NOV) -> dict:
    return {"version": 1, "keys": [
        {"id": "m20261001", "not_before": OCT.isoformat(), "not_after": NOV.isoformat(), "status": ACTIVE,
         "secret": base64.b64encode(secret_a).decode()},
        {"id": "m20261101", "not_before": nov_start.isoformat(), "not_after": DEC.isoformat(), "status": ACTIVE,
         "secret": base64.b64encode(SECRET_B).decode()}]}


def secret_texts(*secrets: bytes) -> list[str]:
    return [t for s in secrets for t in (base64.b64encode(s).decode(), s.hex(), s.decode("latin-1"))]


@pytest.mark.parametrize("mode, ok", [
    (0o600, True),    # owner only: accepted
    (0o644, False),   # world-readable: refused
    (0o640, False),   # group-readable: refused
    (0o604, False),   # other-readable only: refused
])
def test_file_permissions(tmp_path, mode, ok):
    path = tmp_path / "ring.json"
    path.write_text(json.dumps(ring_json()))
    os.chmod(path, mode)
    if ok:
        assert len(KeyRing.load(path).keys) == 2
    else:
        with pytest.raises(KeyRingError) as info:
            KeyRing.load(path)
        assert "chmod 600" in str(info.value)
        assert not any(t in str(info.value) for t in secret_texts(SECRET_A, SECRET_B))


def test_short_key_refused_without_echoing_it():
    short = b"s3cr3t-but-short"
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_json(ring_json(secret_a=short))
    assert "shorter than 32 bytes" in str(info.value)
    assert not any(t in str(info.value) for t in secret_texts(short))


def test_overlapping_epochs_refused():
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_json(ring_json(nov_start=NOV - dt.timedelta(hours=1)))
    assert "overlapping" in str(info.value)


def test_malformed_secret_not_echoed():
    data = ring_json()
    data["keys"][0]["secret"] = "not base64 !!! " + SECRET_A.decode()
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_json(data)
    assert SECRET_A.decode() not in str(info.value)


@pytest.mark.parametrize("moment, expected", [
    (OCT, 0),                                   # first instant of the October key
    (NOV - dt.timedelta(milliseconds=1), 0),    # last instant of October
    (NOV, 1),                                   # November starts exactly at its not_before
    (DEC, -1),                                  # after the last key: none
    (OCT - dt.timedelta(days=1), -1),           # before the first key: none
])
def test_key_chosen_by_event_time(moment, expected):
    ring = KeyRing.from_json(ring_json())
    assert ring.key_index_for_times(np.array([ms(moment)]))[0] == expected


def test_destroyed_key_is_never_chosen_and_repr_hides_secrets():
    ring = KeyRing.from_json(ring_json()).with_status("m20261001", DESTROYED)
    assert ring.key_index_for_times(np.array([ms(OCT)]))[0] == -1
    assert ring.get("m20261001").secret is None
    assert ring.held_keys() == [ring.get("m20261101")]
    assert not any(t in repr(ring.keys) for t in secret_texts(SECRET_A, SECRET_B))


def test_save_is_0600_and_roundtrips(tmp_path):
    path = tmp_path / "sub" / "ring.json"
    KeyRing.from_json(ring_json()).save(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [k.secret for k in KeyRing.load(path).keys] == [SECRET_A, SECRET_B]


def test_key_requires_utc_offset():
    data = ring_json()
    data["keys"][0]["not_before"] = "2026-10-01T00:00:00"
    with pytest.raises(KeyRingError):
        KeyRing.from_json(data)


def test_key_dataclass_covers():
    key = Key("k", OCT, NOV, ACTIVE, SECRET_A)
    assert key.covers_ms(ms(OCT)) and not key.covers_ms(ms(NOV))
