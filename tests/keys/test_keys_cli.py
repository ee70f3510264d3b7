"""`anonpipe keys new|list|retire|destroy` via click's CliRunner: the file changes, no secret is ever printed."""

import base64
import datetime as dt
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.common.event import EVENT_TIME_MS
from pipeline.generate import TelemetryGenerator
from pipeline.keys.cli import keys_group
from pipeline.keys.ring import DESTROYED, KeyRing, RETIRED
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import NO_KEY, pseudonymize_batch
from pipeline.validate.core import parse_time_ms


def secret_texts(ring: KeyRing) -> list[str]:
    return [t for k in ring.keys if k.secret for t in (base64.b64encode(k.secret).decode(), k.secret.hex())]


def invoke(runner: CliRunner, path, *args: str, ok: bool = True):
    result = runner.invoke(keys_group, [args[0], "--keyring", str(path), *args[1:]])
    assert (result.exit_code == 0) == ok, result.output
    return result


@pytest.fixture
def keyring(tmp_path):
    path = tmp_path / "ring.json"
    runner = CliRunner()
    outputs = [invoke(runner, path, "new", "--period", "monthly", "--at", "2026-10-10").output,
               invoke(runner, path, "new", "--period", "monthly").output]  # the epoch after the last key
    return path, runner, outputs


def test_new_creates_consecutive_epochs_in_a_0600_file(keyring):
    path, _, outputs = keyring
    ring = KeyRing.load(path)
    assert [k.key_id for k in ring.keys] == ["m20261001", "m20261101"]
    assert ring.keys[0].not_after == ring.keys[1].not_before
    assert path.stat().st_mode & 0o077 == 0
    assert all("created key" in out for out in outputs)
    assert not any(t in out for out in outputs for t in secret_texts(ring))


def test_list_retire_destroy_never_print_secrets(keyring):
    path, runner, outputs = keyring
    secrets = secret_texts(KeyRing.load(path))
    outputs.append(invoke(runner, path, "list").output)
    assert "m20261001" in outputs[-1] and "active" in outputs[-1]
    outputs.append(invoke(runner, path, "retire", "m20261001").output)
    assert KeyRing.load(path).get("m20261001").status == RETIRED
    outputs.append(invoke(runner, path, "destroy", "m20261001", "--yes").output)
    assert KeyRing.load(path).get("m20261001").status == DESTROYED
    assert "destroyed" in invoke(runner, path, "list").output
    assert "secret" not in json.dumps(KeyRing.load(path).to_json()["keys"][0]).replace('"secret": null', "")
    assert not any(t in out for out in outputs for t in secrets)


def test_destroy_asks_and_errors_hide_secrets(keyring, tmp_path):
    path, runner, _ = keyring
    invoke(runner, path, "destroy", "m20261001", ok=False)  # no --yes and no confirmation typed
    assert KeyRing.load(path).get("m20261001").status != DESTROYED
    os.chmod(path, 0o644)
    loose = runner.invoke(keys_group, ["list", "--keyring", str(path)])
    assert loose.exit_code != 0
    text = loose.output + repr(loose.exception)
    assert not any(t in text for t in secret_texts(KeyRing.from_json(json.loads(path.read_text()))))
    unknown = runner.invoke(keys_group, ["retire", "--keyring", str(path), "nope"])
    assert unknown.exit_code != 0


def test_destroyed_epoch_cannot_be_recomputed(keyring):
    path, runner, _ = keyring
    events = list(TelemetryGenerator(3, end=dt.datetime(2026, 10, 20, tzinfo=dt.UTC)).events(50))
    for event in events:
        event[EVENT_TIME_MS] = parse_time_ms(event["occurred_at"])
    policy = load_policy()
    before = pseudonymize_batch(events, policy, KeyRing.load(path)).table
    assert before.num_rows == len(events)
    invoke(runner, path, "destroy", "m20261001", "--yes")
    after_ring = KeyRing.load(path)
    after = pseudonymize_batch(events, policy, after_ring)
    assert after.table.num_rows == 0
    assert {r.code for r in after.rejects} == {NO_KEY} and len(after.rejects) == len(events)
    # No remaining key reproduces an October pseudonym, even if someone forced the event into another epoch.
    old_tokens = set(before.column("user_pseudonym").to_pylist()) - {None}
    for event in events:
        event[EVENT_TIME_MS] = int(after_ring.keys[1].not_before.timestamp() * 1000) + 1
    forced = pseudonymize_batch(events, policy, after_ring).table
    assert not old_tokens & set(forced.column("user_pseudonym").to_pylist())
    assert np.all([k.secret is None for k in after_ring.keys if k.status == DESTROYED])
