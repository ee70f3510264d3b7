"""Erasure of a PERSON, tried as the person and as an attacker would check it: every row linked to them goes
(signed-out rows, cookies and sessions seen with their device), strangers on a shared device stay, object-store
lakes and the DLQ are covered, new events are blocked, what cannot be reached is reported with its expiry.

The expected rows are computed here from the raw identifiers the test itself assigned, not with the linkage code.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.keys.pseudonym import pseudonym
from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.lake.audit import ACCESS_LOG, read_audit
from pipeline.lake.blocklist import ErasedSubjects, load_entries
from pipeline.lake.cli import export_person_command, forget_command
from pipeline.lake.erasure import AUDIT_LOG, erase_person
from pipeline.lake.layout import PSEUDONYMIZED, dlq_dir
from pipeline.lake.writer import write_batch
from pipeline.policy.loader import load_policy, pseudonym_fields

from .lake_support import read_zone

UTC = dt.timezone.utc
FIELDS = pseudonym_fields(load_policy())
DAY = dt.date(2025, 1, 15)


def _ring() -> KeyRing:
    return KeyRing([Key("m20250101", dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC),
                        ACTIVE, b"\x07" * 32),
                    Key("m20250201", dt.datetime(2025, 2, 1, tzinfo=UTC), dt.datetime(2025, 3, 1, tzinfo=UTC),
                        ACTIVE, b"\x09" * 32)])


def _row(ring, owner: str, n: int, user=None, device=None, cookie=None, session=None, day=DAY) -> dict:
    """One pseudonymized row; `owner` is the test's ground truth (never written to the lake)."""
    key = ring.keys[0] if day.month == 1 else ring.keys[1]
    p = lambda field, value: None if value is None else pseudonym(key.secret, field, value, 16)  # noqa: E731
    return {"event_id": f"{owner}-{n}", "user_pseudonym": p("user_id", user), "device_pseudonym": p("device_id", device),
            "cookie_pseudonym": p("cookie_id", cookie), "session_pseudonym": p("session_id", session),
            "key_id": key.key_id, "event_date": day.isoformat()}


def _alice_and_others(ring) -> list[dict]:
    rows = [
        _row(ring, "alice", 1, user="alice", device="phone-a", session="s1"),
        _row(ring, "alice", 2, device="phone-a", session="s2"),                   # signed out, same device
        _row(ring, "alice", 3, device="phone-a", cookie="ck-a", session="s3"),    # cookie seen with the device
        _row(ring, "alice", 4, cookie="ck-a", session="s4"),                      # only the cookie
        _row(ring, "alice", 5, session="s4"),                                     # only a linked session
        _row(ring, "alice", 6, user="alice", device="phone-a", day=dt.date(2025, 2, 3)),  # February key
        _row(ring, "bob", 1, user="bob", device="phone-b", session="s9"),
        _row(ring, "bob", 2, device="phone-b", cookie="ck-b"),
        _row(ring, "carol", 1, user="carol", device="phone-c", day=dt.date(2025, 2, 3)),
    ]
    # A February row of someone else carrying alice's JANUARY device pseudonym: another epoch, not alice.
    decoy = _row(ring, "dave", 1, user="dave", day=dt.date(2025, 2, 3))
    decoy["device_pseudonym"] = pseudonym(ring.keys[0].secret, "device_id", "phone-a", 16)
    return rows + [decoy]


def _write(data_dir, rows, batch="r000-0000000000000000001-p0"):
    truth = [r.pop("owner", None) for r in rows]
    table = pa.Table.from_pylist(rows)
    write_batch(data_dir, PSEUDONYMIZED, table, batch)
    return truth


def _owners(data_dir) -> list[str]:
    return sorted(e.split("-")[0] for e in read_zone(data_dir, PSEUDONYMIZED).column("event_id").to_pylist())


@pytest.fixture
def lake(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ring = _ring()
    _write(data_dir, _alice_and_others(ring))
    return data_dir, ring


def test_forget_removes_every_linked_row_and_only_those(lake):
    data_dir, ring = lake
    before = _owners(data_dir)
    result = erase_person(data_dir, ring, {"user_id": "alice"}, FIELDS, now=dt.datetime(2025, 1, 20, tzinfo=UTC))
    assert _owners(data_dir) == [o for o in before if o != "alice"]
    assert result.rows_removed == before.count("alice")
    assert result.linked == {"cookie_pseudonym": 1, "device_pseudonym": 2, "session_pseudonym": 4}
    assert result.oversized == []


def test_a_shared_device_does_not_erase_strangers(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ring = _ring()
    rows = [_row(ring, f"u{i}", 1, user=f"u{i}", device="kiosk") for i in range(30)]
    rows += [_row(ring, "u0", 2, user="u0", session="s-u0")]
    _write(data_dir, rows)
    result = erase_person(data_dir, ring, {"user_id": "u0"}, FIELDS, max_component=20)
    assert _owners(data_dir) == sorted(f"u{i}" for i in range(1, 30))  # only u0's own rows went
    assert len(result.oversized) == 1
    assert result.oversized[0]["identifiers"]["user_pseudonym"] == 30 and result.oversized[0]["rows"] == 31


def test_cli_reports_unreachable_copies_with_expiry_and_audits_without_ids(lake, tmp_path, run):
    data_dir, ring = lake
    keyring = tmp_path / "ring.json"
    ring.save(keyring)
    started = dt.datetime.now(UTC)
    result = run(forget_command, ["--data-dir", data_dir, "--user-id", "alice", "--keyring", keyring])
    assert result.exit_code == 0, result.output
    assert "linked pseudonyms found: 1 cookie_pseudonym, 2 device_pseudonym, 4 session_pseudonym" in result.output
    line = next(x for x in result.output.splitlines() if "topic telemetry.raw" in x)
    gone_by = dt.datetime.fromisoformat(line.rsplit("gone by ", 1)[1])
    # Default policy: raw topic 24 h, plus at most one segment (6 h) before Kafka deletes it.
    assert started + dt.timedelta(hours=30) <= gone_by + dt.timedelta(seconds=1)
    assert gone_by <= dt.datetime.now(UTC) + dt.timedelta(hours=30)
    for topic in ("telemetry.dlq", "telemetry.pseudonymized", "anonpipe-kanon-cells-changelog"):
        assert f"topic {topic}" in result.output
    log = (data_dir / AUDIT_LOG).read_text()
    entry = json.loads(log.splitlines()[-1])
    assert entry["linked_pseudonyms_per_column"] == {"cookie_pseudonym": 1, "device_pseudonym": 2,
                                                     "session_pseudonym": 4}
    assert {u["where"] for u in entry["unreachable"]} >= {"topic telemetry.raw"}
    every_pseudonym = {v for r in _alice_and_others(ring) for k, v in r.items() if k.endswith("pseudonym") and v}
    assert "alice" not in log and not any(p in log + result.output for p in every_pseudonym)
    assert oct(os.stat(data_dir / AUDIT_LOG).st_mode & 0o777) == "0o600"


def test_dead_letters_with_the_raw_identifier_go_and_longer_ids_stay(lake):
    data_dir, ring = lake
    part = dlq_dir(data_dir) / "date=2025-01-15"
    part.mkdir(parents=True)
    lines = [{"code": "schema_violation", "raw": json.dumps({"user_id": "alice", "ip": "95.56.1.2"})},
             {"code": "schema_violation", "raw": json.dumps({"user_id": "alice2"})},
             {"code": "envelope_not_json", "raw": '{"device_id": "phone-a", broken'}]
    (part / "x.ndjson").write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = erase_person(data_dir, ring, {"user_id": "alice", "device_id": "phone-a"}, FIELDS)
    assert result.dlq_lines_removed == 2
    assert [json.loads(x)["raw"] for x in (part / "x.ndjson").read_text().splitlines()] == [lines[1]["raw"]]


def test_new_events_of_an_erased_person_are_dropped_at_ingest_until_the_epoch_closes(lake):
    data_dir, ring = lake
    now = dt.datetime(2025, 2, 10, tzinfo=UTC)
    erase_person(data_dir, ring, {"user_id": "alice"}, FIELDS, now=now, max_age=dt.timedelta(days=30))
    entries = load_entries(data_dir)
    assert {e.key_id for e in entries} == {"m20250101", "m20250201"}  # both still receive events on Feb 10
    assert {e.expires for e in entries} == {"2025-03-03T00:00:00+00:00", "2025-03-31T00:00:00+00:00"}
    # A new batch as the pseudonymize stage emits it: alice's signed-out row and bob's row.
    incoming = pa.Table.from_pylist([_row(ring, "alice", 9, device="phone-a", day=dt.date(2025, 2, 11)),
                                     _row(ring, "bob", 9, user="bob", day=dt.date(2025, 2, 11)),
                                     _row(ring, "alice", 10, cookie="ck-a", day=dt.date(2025, 1, 30))])
    kept, dropped = ErasedSubjects(data_dir, check_seconds=0).drop(incoming)
    assert dropped == 2 and kept.column("event_id").to_pylist() == ["bob-9"]
    from pipeline.lake.maintain import run_cycle
    report = run_cycle(data_dir, {"dlq": 7}, now=dt.datetime(2025, 3, 5, tzinfo=UTC), compact=False,
                       permissions=False)
    assert report.blocklist_expired > 0 and {e.key_id for e in load_entries(data_dir)} == {"m20250201"}


def test_export_person_holds_exactly_their_rows(lake, tmp_path, run):
    data_dir, ring = lake
    keyring = tmp_path / "ring.json"
    ring.save(keyring)
    out = tmp_path / "export"
    result = run(export_person_command, ["--data-dir", data_dir, "--device-id", "phone-a", "--keyring", keyring,
                                         "--out", out])
    assert result.exit_code == 0, result.output
    exported = pq.read_table(out / "pseudonymized.parquet").column("event_id").to_pylist()
    assert sorted(exported) == sorted(f"alice-{i}" for i in range(1, 7))
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in out.iterdir())
    assert oct(out.stat().st_mode & 0o777) == "0o700"
    (entry,) = read_audit(data_dir, ACCESS_LOG)
    assert entry["action"] == "export-person" and entry["rows"] == 6 and "phone-a" not in json.dumps(entry)
    assert _owners(data_dir).count("alice") == 6  # an export changes nothing


def test_object_store_lake_is_erased_too(tmp_path, s3_url):
    from pipeline.lake.object_store import ObjectStoreLake
    ring = _ring()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    lake = ObjectStoreLake.from_url(s3_url)
    table = pa.Table.from_pylist(_alice_and_others(ring)).drop_columns(["event_date"])
    lake.write_partition_file(PSEUDONYMIZED, "2025-01-15", "r000-0000000000000000001-p0.parquet", table)
    result = erase_person(data_dir, ring, {"user_id": "alice"}, FIELDS, lake_url=s3_url)
    assert result.rows_removed == 6 and result.sources == [s3_url.split("?")[0]]
    (path,) = [i.path for i in lake.filesystem.get_file_info(
        __import__("pyarrow.fs", fromlist=["FileSelector"]).FileSelector(lake.zone_root(PSEUDONYMIZED), recursive=True))
        if i.type.name == "File"]
    left = pq.read_table(path, filesystem=lake.filesystem).column("event_id").to_pylist()
    assert sorted(e.split("-")[0] for e in left) == ["bob", "bob", "carol", "dave"]
