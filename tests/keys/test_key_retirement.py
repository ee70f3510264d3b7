"""Retired keys pseudonymize nothing new; retiring is refused while the epoch still receives events; key material
comes from the environment only when asked for explicitly, and is never echoed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from pipeline.common.event import EVENT_TIME_MS
from pipeline.generate import TelemetryGenerator
from pipeline.keys.cli import keys_group
from pipeline.keys.ring import ACTIVE, RETIRED, Key, KeyRing, KeyRingError
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import KEY_RETIRED, pseudonymize_batch
from pipeline.validate.core import parse_time_ms
from pipeline.worker import load_ring

UTC = dt.timezone.utc
OCT, NOV, DEC = (dt.datetime(2026, m, 1, tzinfo=UTC) for m in (10, 11, 12))
MAX_AGE = dt.timedelta(days=30)


def _ring(oct_status=ACTIVE) -> KeyRing:
    return KeyRing([Key("m20261001", OCT, NOV, oct_status, b"o" * 32), Key("m20261101", NOV, DEC, ACTIVE, b"n" * 32)])


def _events(end: dt.datetime, n: int, seed: int) -> list[dict]:
    events = list(TelemetryGenerator(seed, hours=72, end=end).events(n))
    for event in events:
        event[EVENT_TIME_MS] = parse_time_ms(event["occurred_at"])
    return events


def test_events_of_a_retired_epoch_go_to_the_dlq_never_to_another_key():
    october, november = _events(dt.datetime(2026, 10, 20, tzinfo=UTC), 40, 1), _events(
        dt.datetime(2026, 11, 20, tzinfo=UTC), 40, 2)
    policy = load_policy()
    result = pseudonymize_batch(october + november, policy, _ring(oct_status=RETIRED))
    assert result.table.num_rows == len(november)
    assert set(result.table.column("key_id").to_pylist()) == {"m20261101"}
    assert len(result.rejects) == len(october) and {r.code for r in result.rejects} == {KEY_RETIRED}
    # The October users never got a November-key pseudonym (they would count twice in one epoch).
    nov_key = _ring().get("m20261101").secret
    from pipeline.keys.pseudonym import pseudonym
    leaked = {pseudonym(nov_key, "user_id", e["user_id"], 16) for e in october if e.get("user_id")}
    assert not leaked & set(result.table.column("user_pseudonym").to_pylist())


@pytest.mark.parametrize("now, ok", [
    (NOV + dt.timedelta(days=10), False),          # October events are still accepted until Dec 1
    (NOV + MAX_AGE - dt.timedelta(seconds=1), False),
    (NOV + MAX_AGE, True),                          # the last accepted October event is now too old
])
def test_retire_waits_until_the_epoch_is_older_than_max_age(now, ok):
    ring = _ring()
    if ok:
        assert ring.retired("m20261001", MAX_AGE, now).get("m20261001").status == RETIRED
    else:
        with pytest.raises(KeyRingError, match="cannot be retired before 2026-12-01"):
            ring.retired("m20261001", MAX_AGE, now)


def test_cli_refuses_to_retire_the_current_key(tmp_path):
    path = tmp_path / "ring.json"
    runner = CliRunner()
    assert runner.invoke(keys_group, ["new", "--keyring", str(path), "--period", "monthly"]).exit_code == 0
    current = KeyRing.load(path).keys[0].key_id
    result = runner.invoke(keys_group, ["retire", "--keyring", str(path), current])
    assert result.exit_code != 0 and "cannot be retired before" in str(result.exception or result.output)
    assert KeyRing.load(path).get(current).status == ACTIVE


def _ring_json() -> str:
    return json.dumps(_ring().to_json())


def test_environment_key_ring_needs_the_explicit_flag(monkeypatch):
    monkeypatch.setenv("ANONPIPE_KEYRING_JSON", _ring_json())
    with pytest.raises(KeyRingError, match="pass --keyring env:ANONPIPE_KEYRING_JSON"):
        load_ring(SimpleNamespace(keyring_path=None, demo=True), "monthly")
    ring = load_ring(SimpleNamespace(keyring_path="env:ANONPIPE_KEYRING_JSON", demo=False), "monthly")
    assert [k.key_id for k in ring.keys] == ["m20261001", "m20261101"]
    assert "ANONPIPE_KEYRING_JSON" not in os.environ  # not inherited by anything this process starts


def test_environment_key_ring_errors_never_echo_the_material(monkeypatch):
    broken = _ring_json()[:-3]  # truncated JSON that still contains both secrets
    monkeypatch.setenv("VAULT_RING", broken)
    with pytest.raises(KeyRingError) as caught:
        load_ring(SimpleNamespace(keyring_path="env:VAULT_RING", demo=False), "monthly")
    for secret in (b"o" * 32, b"n" * 32):
        assert base64.b64encode(secret).decode() not in str(caught.value)
    with pytest.raises(KeyRingError, match="VAULT_RING is not set"):
        load_ring(SimpleNamespace(keyring_path="env:VAULT_RING", demo=False), "monthly")
