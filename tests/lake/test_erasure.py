"""Erasure: the person's rows go under every held key, everything else stays byte-identical, audit is clean."""

from __future__ import annotations

import json
import os
import random
import stat
import threading

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.keys.pseudonym import pseudonym
from pipeline.keys.ring import DESTROYED
from pipeline.lake.cli import forget_command
from pipeline.lake.compaction import compact_zone, maintenance_lock
from pipeline.lake.erasure import AUDIT_LOG, ErasureError, erase_from_zone
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS, zone_dir
from pipeline.lake.writer import write_batch

from .conftest import DAYS
from .lake_support import files_state, read_zone, row_fingerprints
from .synthetic import pseudonymized_table

PERSON = "user-3"  # one of the synthetic users; has rows on every day, i.e. under both test keys


def _tokens(ring, field, value):
    return {k.key_id: pseudonym(k.secret, field, value, 16) for k in ring.held_keys()}


def _person_mask(table, ring, field="user_id", column="user_pseudonym", value=PERSON):
    mask = None
    for key_id, token in _tokens(ring, field, value).items():
        hit = pc.and_(pc.equal(table.column("key_id"), key_id), pc.equal(table.column(column), token))
        mask = hit if mask is None else pc.or_(mask, hit)
    return pc.fill_null(mask, False)


def _keyring_file(tmp_path, ring, mode=0o600):
    path = tmp_path / "keyring.json"
    ring.save(path)
    os.chmod(path, mode)
    return path


def _add_decoy(data_dir, ring):
    """A row carrying the person's January pseudonym but labelled with the February key: not theirs."""
    jan, feb = ring.keys
    table = pseudonymized_table(ring, DAYS[-1], 1, random.Random(9), ["someone-else"], "r001-0000000000000007777-p0")
    table = table.set_column(table.schema.get_field_index("user_pseudonym"), "user_pseudonym",
                             [[pseudonym(jan.secret, "user_id", PERSON, 16)]])
    assert table.column("key_id")[0].as_py() == feb.key_id
    write_batch(data_dir, PSEUDONYMIZED, table, "r001-0000000000000007777-p0")


def test_forget_removes_the_person_and_nothing_else(data_dir, ring, tmp_path, run):
    _add_decoy(data_dir, ring)
    before = read_zone(data_dir, PSEUDONYMIZED)
    mask = _person_mask(before, ring)
    person_rows = pc.sum(mask).as_py()
    assert person_rows > 0 and set(before.filter(mask).column("key_id").to_pylist()) == {k.key_id for k in ring.keys}
    rest_before = row_fingerprints(before.filter(pc.invert(mask)))
    files_with_person = {p for p in zone_dir(data_dir, PSEUDONYMIZED).rglob("*.parquet")
                         if pc.any(_person_mask(pq.read_table(p), ring)).as_py()}
    state_before = files_state(data_dir / "lake")

    result = run(forget_command, ["--data-dir", data_dir, "--user-id", PERSON,
                                  "--keyring", _keyring_file(tmp_path, ring)])

    assert result.exit_code == 0, result.output
    after = read_zone(data_dir, PSEUDONYMIZED)
    assert not pc.any(_person_mask(after, ring)).as_py()
    assert after.num_rows == before.num_rows - person_rows
    assert row_fingerprints(after) == rest_before  # the decoy row is among the survivors
    state_after = files_state(data_dir / "lake")
    changed = {k for k in state_before if state_before[k] != state_after.get(k)}
    assert changed == {str(p.relative_to(data_dir / "lake")) for p in files_with_person}
    for zone in (AGGREGATES, WINDOW_STATS):
        assert all(state_before[k] == state_after[k] for k in state_before if k.startswith(zone))

    log = data_dir / AUDIT_LOG
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["rows_removed"] == person_rows
    assert entry["files_rewritten"] == len(files_with_person)
    # Linked: the person's device and sessions were seen with their user id (the synthetic data has no others).
    assert entry["matched_columns"] == ["device_pseudonym", "session_pseudonym", "user_pseudonym"]
    assert entry["rows_matched_per_column"]["user_pseudonym"] == person_rows
    per_key = before.filter(mask).group_by("key_id").aggregate([("key_id", "count")]).to_pylist()
    assert entry["rows_removed_per_key"] == {r["key_id"]: r["key_id_count"] for r in per_key}
    text = log.read_text() + result.output
    assert PERSON not in text
    assert not any(token in text for token in _tokens(ring, "user_id", PERSON).values())


def test_device_id_and_compacted_files(data_dir, ring, tmp_path, run):
    compact_zone(data_dir, PSEUDONYMIZED)
    device = f"dev-{PERSON}"  # synthetic devices are named after their user
    before = read_zone(data_dir, PSEUDONYMIZED)
    mask = _person_mask(before, ring, "device_id", "device_pseudonym", device)
    assert pc.sum(mask).as_py() > 0

    result = run(forget_command, ["--data-dir", data_dir, "--device-id", device,
                                  "--keyring", _keyring_file(tmp_path, ring)])

    assert result.exit_code == 0, result.output
    after = read_zone(data_dir, PSEUDONYMIZED)
    assert after.num_rows == before.num_rows - pc.sum(mask).as_py()
    assert not pc.any(_person_mask(after, ring, "device_id", "device_pseudonym", device)).as_py()
    entry = json.loads((data_dir / AUDIT_LOG).read_text().splitlines()[-1])
    assert entry["matched_columns"] == ["device_pseudonym", "session_pseudonym", "user_pseudonym"]


def test_second_request_appends_and_finds_nothing(data_dir, ring, tmp_path, run):
    keyring = _keyring_file(tmp_path, ring)
    run(forget_command, ["--data-dir", data_dir, "--user-id", PERSON, "--keyring", keyring])
    state = files_state(data_dir / "lake")
    again = run(forget_command, ["--data-dir", data_dir, "--user-id", PERSON, "--keyring", keyring])
    assert again.exit_code == 0 and "removed 0 rows from 0 of" in again.output
    assert files_state(data_dir / "lake") == state
    lines = (data_dir / AUDIT_LOG).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["rows_removed"] == 0


def test_destroyed_key_rows_cannot_be_matched_and_are_left(data_dir, ring):
    jan = ring.keys[0]
    shredded = ring.with_status(jan.key_id, DESTROYED)
    result = erase_from_zone(data_dir, shredded, {"user_id": PERSON})
    assert set(result.per_key) == {ring.keys[1].key_id}
    assert result.keys_checked == [ring.keys[1].key_id]


def test_loose_keyring_permissions_and_missing_ids_are_one_line_errors(data_dir, ring, tmp_path, run):
    loose = run(forget_command, ["--data-dir", data_dir, "--user-id", PERSON,
                                 "--keyring", _keyring_file(tmp_path, ring, mode=0o644)])
    assert loose.exit_code == 1 and loose.output.count("\n") == 1 and "chmod 600" in loose.output
    assert PERSON not in loose.output
    none = run(forget_command, ["--data-dir", data_dir, "--keyring", _keyring_file(tmp_path, ring)])
    assert none.exit_code == 1 and "give at least one of --user-id" in none.output
    assert not (data_dir / AUDIT_LOG).exists()


def test_id_from_stdin(data_dir, ring, tmp_path, run):
    result = run(forget_command, ["--data-dir", data_dir, "--user-id", "-", "--keyring",
                                  _keyring_file(tmp_path, ring)], input=f"{PERSON}\n")
    assert result.exit_code == 0, result.output
    assert not pc.any(_person_mask(read_zone(data_dir, PSEUDONYMIZED), ring)).as_py()


def test_unknown_field_is_rejected(data_dir, ring):
    with pytest.raises(ErasureError, match="not erasable"):
        erase_from_zone(data_dir, ring, {"email": "x"})


def test_erasure_waits_for_a_running_compaction(data_dir, ring):
    """A compaction holds the maintenance lock; erasure must not rewrite files under it."""
    done = threading.Event()

    def erase():
        erase_from_zone(data_dir, ring, {"user_id": PERSON})
        done.set()

    with maintenance_lock(data_dir):
        worker = threading.Thread(target=erase)
        worker.start()
        assert not done.wait(0.5)
        assert pc.any(_person_mask(read_zone(data_dir, PSEUDONYMIZED), ring)).as_py()
    assert done.wait(20)
    worker.join()
    assert not pc.any(_person_mask(read_zone(data_dir, PSEUDONYMIZED), ring)).as_py()
