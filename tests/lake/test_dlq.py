"""The DLQ sink writes each dead letter once by source position: replays gathered into other batches, partial
overlaps, crashes between the file write and the offset commit, other workers' files, other days' folders."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from harness import GENERATED_UNTIL

from pipeline.common.positions import parse_range_id, raw_partition_of
from pipeline.common.rejects import decode_rejects, reject_position
from pipeline.generate import TelemetryGenerator
from pipeline.lake.counts import dlq_rows
from pipeline.lake.dlq import DlqLedger, write_dlq
from pipeline.lake.erasure import erase_from_dlq
from pipeline.lake.layout import dlq_dir
from pipeline.lake.retention import apply_retention
from pipeline.pseudonymize.batch import BatchIngest, RawMessage

SERVICES: dict = {}


@pytest.fixture(scope="module")
def messages() -> list[RawMessage]:
    """One-event messages and NDJSON envelopes, 10 % bad events, over 2 partitions, and one envelope of big
    unparsable lines whose dead letters take two DLQ messages."""
    labelled = list(TelemetryGenerator(17, end=GENERATED_UNTIL, hours=4).labelled_lines(700, 0.10))
    rng = random.Random(3)
    out, offsets, i = [], [0, 0], 0
    while i < len(labelled):
        partition, size = rng.randrange(2), rng.choice([1, 1, 1, 20])
        out.append(RawMessage(partition, offsets[partition], b"\n".join(line for line, _ in labelled[i:i + size])))
        offsets[partition] += 1
        i += size
        if len(out) == 60:
            out.append(RawMessage(0, offsets[0], b"\n".join([b"{" + b"y" * 60_000] * 20)))
            offsets[0] += 1
    return out


def ingest(policy, ring, messages, size: int):
    """A fresh ingest instance (as after a restart) gathering batches of `size` messages."""
    runner = BatchIngest(policy, ring, "abc123", 3, "telemetry.raw", services=SERVICES)
    return [m for start in range(0, len(messages), size) for m in runner.run(messages[start:start + size]).dlq]


def sink(data_dir: Path, dlq_messages, ledger: DlqLedger | None = None) -> list[Path]:
    ledger = ledger or DlqLedger(data_dir)
    return [path for m in dlq_messages if (path := write_dlq(data_dir, m.payload, m.batch_id, ledger))]


def on_disk(data_dir: Path) -> list[tuple[int, int]]:
    """(raw partition, position) of every dead letter in the DLQ folder, repeats included."""
    found = []
    for path in dlq_dir(data_dir).rglob("*.ndjson"):
        partition = raw_partition_of(parse_range_id(path.name[: -len(".ndjson")])[0])
        found += [(partition, reject_position(line["source"])) for line in decode_rejects(path.read_bytes())]
    return found


def expected(dlq_messages) -> list[tuple[int, int]]:
    return sorted((raw_partition_of(parse_range_id(m.batch_id)[0]), reject_position(line["source"]))
                  for m in dlq_messages for line in decode_rejects(m.payload))


def test_a_replay_gathered_into_other_batches_adds_no_dead_letter(tmp_path, policy, ring, messages):
    first = ingest(policy, ring, messages, 40)
    assert len(sink(tmp_path, first)) == len(first)
    before = sorted(on_disk(tmp_path))
    assert before == expected(first) and len(before) > 60
    for size in (7, 113, 1):  # each replay gathers other batches, so its DLQ messages have other names
        replay = ingest(policy, ring, messages, size)
        assert {m.batch_id for m in replay} - {m.batch_id for m in first}
        assert sink(tmp_path, replay) == []
    assert sorted(on_disk(tmp_path)) == before
    assert dlq_rows(tmp_path) == len(before)


def test_a_replay_overlapping_what_landed_adds_exactly_the_missing_dead_letters(tmp_path, policy, ring, messages):
    """A crash after the sink wrote the first DLQ messages of a run; the replay starts earlier than what is missing
    and gathers other batches: the missing dead letters land, none twice (partial overlaps drop single lines)."""
    first = ingest(policy, ring, messages, 40)
    sink(tmp_path, first[: len(first) // 3])
    replay = ingest(policy, ring, messages[20:], 29)  # the replay starts inside the first run's first batch
    written = sink(tmp_path, replay)
    landed = on_disk(tmp_path)
    assert sorted(landed) == expected(first) and len(set(landed)) == len(landed)
    partial = [p for p in written
               if len(decode_rejects(p.read_bytes())) < len(decode_rejects(_message(replay, p).payload))]
    assert partial  # some replayed messages were partly there already: only their new lines were written


def _message(dlq_messages, path: Path):
    return next(m for m in dlq_messages if m.batch_id == path.name[: -len(".ndjson")])


def test_a_redelivered_message_after_a_crash_before_the_offset_commit_writes_nothing(tmp_path, policy, ring,
                                                                                    messages):
    dlq_messages = ingest(policy, ring, messages, 40)
    assert len(sink(tmp_path, dlq_messages)) == len(dlq_messages)
    files = {p: p.read_bytes() for p in dlq_dir(tmp_path).rglob("*.ndjson")}
    assert sink(tmp_path, dlq_messages) == []  # the same messages again (offsets never committed)
    assert {p: p.read_bytes() for p in dlq_dir(tmp_path).rglob("*.ndjson")} == files


def test_a_kill_between_the_file_write_and_its_rename_loses_nothing(tmp_path, policy, ring, messages):
    """The claim is the file's name, which appears with its lines in one rename: a worker killed before the
    rename leaves only a hidden temp file, which claims nothing, so the redelivered message is written in full."""
    dlq_messages = ingest(policy, ring, messages, 40)
    target = dlq_messages[0]
    script = ("import sys; from pathlib import Path; from pipeline.lake.dlq import write_dlq; "
              "write_dlq(Path(sys.argv[1]), sys.stdin.buffer.read(), sys.argv[2])")
    env = {**os.environ, "ANONPIPE_FAILPOINT": "dlq.before_rename:1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path), target.batch_id], input=target.payload,
                            env=env, capture_output=True)
    assert killed.returncode == -9
    assert [p.name.startswith(".") for p in dlq_dir(tmp_path).rglob("*")  if p.is_file()] == [True]
    assert sink(tmp_path, dlq_messages) != []
    assert sorted(on_disk(tmp_path)) == expected(dlq_messages)


def test_files_written_by_another_worker_or_on_another_day_are_recognised(tmp_path, policy, ring, messages):
    first = ingest(policy, ring, messages, 40)
    mine = DlqLedger(tmp_path)
    assert mine.held().ranges == {}
    sink(tmp_path, first[:3], DlqLedger(tmp_path))  # another worker's sink
    yesterday = dlq_dir(tmp_path) / f"date={dt.date.today() - dt.timedelta(days=1)}"
    today = next(dlq_dir(tmp_path).iterdir())
    today.rename(yesterday)  # ...and it wrote them yesterday
    assert len(on_disk(tmp_path)) < len(expected(first))
    assert sink(tmp_path, ingest(policy, ring, messages, 17), mine)
    assert sorted(on_disk(tmp_path)) == expected(first)


def test_the_ledger_stays_a_few_ranges_per_stream(tmp_path, policy, ring, messages):
    ledger = DlqLedger(tmp_path)
    sink(tmp_path, ingest(policy, ring, messages, 6), ledger)
    held = ledger.held()
    assert len(held.ranges) == 2 and all(len(ranges) == 1 for ranges in held.ranges.values())
    sink(tmp_path, ingest(policy, ring, messages, 50), ledger)  # a replay: gaps may add ranges, never dead letters
    assert all(len(ranges) <= 3 for ranges in ledger.held().ranges.values())


def test_permissions_erasure_and_retention_keep_working(tmp_path, policy, ring, messages):
    dlq_messages = ingest(policy, ring, messages, 40)
    ledger = DlqLedger(tmp_path)
    written = sink(tmp_path, dlq_messages, ledger)
    root = dlq_dir(tmp_path)
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in root.iterdir()} == {"0o700"}
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o600"}
    # erasure: a file whose every line goes stays, empty, so its claim stands and a replay does not bring them back
    line = decode_rejects(written[0].read_bytes())[0]
    identifier = f"erase-me-{random.Random(1).random()}"
    body = [dict(entry, raw=json.dumps({"user_id": identifier})) for entry in decode_rejects(written[0].read_bytes())]
    written[0].write_bytes(b"".join(orjson.dumps(entry) + b"\n" for entry in body))
    assert erase_from_dlq(tmp_path, {"user_id": identifier}) == len(body)
    assert written[0].exists() and written[0].read_bytes() == b"" and oct(written[0].stat().st_mode & 0o777) == "0o600"
    assert sink(tmp_path, ingest(policy, ring, messages, 13), ledger) == []
    erased_at = (raw_partition_of(parse_range_id(written[0].stem)[0]), reject_position(line["source"]))
    assert erased_at in expected(dlq_messages) and erased_at not in on_disk(tmp_path)
    assert dlq_rows(tmp_path) == len(expected(dlq_messages)) - len(body)
    # retention deletes the day's folder; the ledger forgets its claims, and a replay writes the dead letters again
    day = next(root.iterdir())
    expired = apply_retention(tmp_path, {"dlq": 7}, dt.date.today() + dt.timedelta(days=30))
    assert [e.path for e in expired] == [day] and not day.exists()
    assert ledger.held().ranges == {}
    assert sink(tmp_path, ingest(policy, ring, messages, 40), ledger)
    assert sorted(on_disk(tmp_path)) == expected(dlq_messages)


def test_dead_letters_without_a_position_are_still_written(tmp_path):
    """Lines of older versions (no place in their message) and older chunk names: at-least-once, as before."""
    old = b"\n".join(orjson.dumps({"code": "schema_violation", "raw": "{}", "source": {"partition": 0, "offset": n}})
                     for n in range(3))
    assert write_dlq(tmp_path, old, "sabc.r000-0-100") is not None
    assert write_dlq(tmp_path, old, "sabc.r000-0-100-d1") is not None
    assert write_dlq(tmp_path, old, "sabc.r000-0-100-d1") is None  # the same chunk again: recognised by its name
    assert dlq_rows(tmp_path) == 6
