"""Compaction: one file per partition, same rows, schema evolution, crash safety, replay detection."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.lake.compaction import MANIFEST_NAME, CompactionError, compact_partition, compact_zone, data_files
from pipeline.lake.layout import zone_dir
from pipeline.lake.ledger import BatchLedger
from pipeline.lake.cli import lake_group
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED
from pipeline.lake.writer import write_batch

from .conftest import DAYS
from .lake_support import read_files, read_zone, row_fingerprints
from .synthetic import pseudonymized_table

DAY = DAYS[0]


def _partition(data_dir, zone=PSEUDONYMIZED, day=DAY):
    return zone_dir(data_dir, zone) / f"event_date={day.isoformat()}"


def _batch_ids(partition):
    return sorted(p.stem for p in data_files(partition))


def test_compact_merges_each_partition_into_one_named_file(data_dir):
    before = row_fingerprints(read_zone(data_dir, PSEUDONYMIZED))
    partition = _partition(data_dir)
    sources = _batch_ids(partition)
    assert len(sources) > 1

    results = compact_zone(data_dir, PSEUDONYMIZED)

    assert {r.partition for r in results} == {f"event_date={d.isoformat()}" for d in DAYS}
    files = data_files(partition)
    expected_name = "compact-" + hashlib.sha1("\n".join(sorted(sources)).encode()).hexdigest()[:16] + ".parquet"
    assert [f.name for f in files] == [expected_name]
    manifest = json.loads((partition / MANIFEST_NAME).read_text())
    assert manifest["files"] == {expected_name: sources}
    assert row_fingerprints(read_zone(data_dir, PSEUDONYMIZED)) == before
    # A second run finds nothing to do and leaves the file alone.
    mtime = files[0].stat().st_mtime_ns
    assert all(r.skipped for r in compact_zone(data_dir, PSEUDONYMIZED))
    assert files[0].stat().st_mtime_ns == mtime


def test_new_optional_column_in_a_newer_file_is_null_filled(data_dir, ring):
    partition = _partition(data_dir)
    old_rows = read_files(data_files(partition)).num_rows
    newer = pseudonymized_table(ring, DAY, 10, random.Random(5), ["user-x"], "r001-0000000000000009999-p0",
                                extra_columns={"consent_scope": ["analytics"] * 10})
    write_batch(data_dir, PSEUDONYMIZED, newer, "r001-0000000000000009999-p0")

    compact_partition(partition, PSEUDONYMIZED)

    table = pq.read_table(data_files(partition)[0])
    assert table.num_rows == old_rows + 10
    assert table.schema.field("consent_scope").type == pa.string()
    values = table.column("consent_scope").to_pylist()
    assert values.count("analytics") == 10 and values.count(None) == old_rows


def test_incompatible_column_types_are_a_clear_error(data_dir, ring):
    partition = _partition(data_dir)
    bad = pseudonymized_table(ring, DAY, 3, random.Random(2), ["u"], "r001-0000000000000008888-p0")
    bad = bad.set_column(bad.schema.get_field_index("geo_h3_res"), "geo_h3_res",
                         pa.array([[1], [2], [3]], pa.list_(pa.int8())))
    write_batch(data_dir, PSEUDONYMIZED, bad, "r001-0000000000000008888-p0")
    with pytest.raises(CompactionError, match="incompatible schemas"):
        compact_partition(partition, PSEUDONYMIZED)


def test_rerun_after_crash_between_manifest_and_source_deletion_does_not_duplicate(data_dir, tmp_path):
    partition = _partition(data_dir)
    expected = row_fingerprints(read_files(data_files(partition)))
    backup = tmp_path / "sources"
    shutil.copytree(partition, backup)
    compact_partition(partition, PSEUDONYMIZED)
    # State left by a kill after the manifest was written but before any source was deleted.
    for source in backup.glob("*.parquet"):
        shutil.copy2(source, partition / source.name)
    assert len(data_files(partition)) == 1 + len(list(backup.glob("*.parquet")))

    result = compact_partition(partition, PSEUDONYMIZED)

    assert result.duplicate_rows_dropped == len(expected)
    assert len(data_files(partition)) == 1
    assert row_fingerprints(pq.read_table(data_files(partition)[0])) == expected


KILL_AT_FIRST_UNLINK = """
import os, pathlib, signal, sys
from pipeline.lake.compaction import compact_partition
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # a real kill: no cleanup, no finally blocks
pathlib.Path.unlink = die
compact_partition(pathlib.Path(sys.argv[1]), "pseudonymized")
"""


def test_process_killed_while_deleting_sources_then_rerun(data_dir):
    partition = _partition(data_dir)
    expected = row_fingerprints(read_files(data_files(partition)))
    repo = Path(__file__).resolve().parents[2]
    killed = subprocess.run([sys.executable, "-c", KILL_AT_FIRST_UNLINK, str(partition)], cwd=repo,
                            env={"PYTHONPATH": str(repo)}, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert (partition / MANIFEST_NAME).exists() and len(data_files(partition)) > 1  # sources still there

    compact_partition(partition, PSEUDONYMIZED)

    assert len(data_files(partition)) == 1
    assert row_fingerprints(read_files(data_files(partition))) == expected


def test_rerun_after_crash_before_manifest_does_not_duplicate(data_dir, tmp_path):
    partition = _partition(data_dir)
    expected = row_fingerprints(read_files(data_files(partition)))
    scratch = tmp_path / "scratch"
    shutil.copytree(partition, scratch)
    compact_partition(scratch, PSEUDONYMIZED)
    # State left by a kill after the compact file was renamed into place, before the manifest existed.
    orphan = data_files(scratch)[0]
    shutil.copy2(orphan, partition / orphan.name)
    assert not (partition / MANIFEST_NAME).exists()

    compact_partition(partition, PSEUDONYMIZED)

    assert [f.name for f in data_files(partition)] == [orphan.name]
    assert row_fingerprints(pq.read_table(data_files(partition)[0])) == expected


def test_the_sink_ledger_still_knows_batches_after_compaction(data_dir, ring):
    partition = _partition(data_dir)
    merged = _batch_ids(partition)
    ledger = BatchLedger.local(zone_dir(data_dir, PSEUDONYMIZED))
    assert set(merged) <= ledger.held(DAY.isoformat()).batch_ids
    compact_partition(partition, PSEUDONYMIZED)
    held = ledger.held(DAY.isoformat()).batch_ids
    assert set(merged) <= held  # the sources are gone; the manifest and the compact file keep their ids
    assert "r001-0000000000000005555-p0" not in held
    assert not set(merged) & ledger.held(DAYS[1].isoformat()).batch_ids

    # A later batch merged by a second compaction is seen without a stale cache answer.
    late = pseudonymized_table(ring, DAY, 5, random.Random(3), ["late-user"], "r001-0000000000000005555-p0")
    write_batch(data_dir, PSEUDONYMIZED, late, "r001-0000000000000005555-p0")
    assert "r001-0000000000000005555-p0" in ledger.held(DAY.isoformat()).batch_ids
    compact_partition(partition, PSEUDONYMIZED)
    assert "r001-0000000000000005555-p0" in ledger.held(DAY.isoformat()).batch_ids
    assert len(data_files(partition)) == 1


def test_replayed_batch_the_sink_did_not_skip_is_dropped_on_next_compaction(data_dir):
    partition = _partition(data_dir)
    first = data_files(partition)[0]
    replay = pq.read_table(first).append_column("event_date", pa.array([DAY] * pq.read_metadata(first).num_rows))
    expected = row_fingerprints(read_files(data_files(partition)))
    compact_partition(partition, PSEUDONYMIZED)
    write_batch(data_dir, PSEUDONYMIZED, replay, first.stem)  # a replay rewrites the same batch file

    compact_partition(partition, PSEUDONYMIZED)

    assert row_fingerprints(read_files(data_files(partition))) == expected


def test_batch_erased_from_compact_file_is_not_resurrected_by_a_replay(data_dir):
    partition = _partition(data_dir)
    victim = data_files(partition)[0]
    replay = pq.read_table(victim).append_column("event_date", pa.array([DAY] * pq.read_metadata(victim).num_rows))
    compact_partition(partition, PSEUDONYMIZED)
    compact_file = data_files(partition)[0]
    kept = pq.read_table(compact_file)
    kept = kept.filter(pa.compute.not_equal(kept.column("batch_id"), victim.stem))
    pq.write_table(kept, compact_file)  # as erasure leaves it: every row of that batch gone
    write_batch(data_dir, PSEUDONYMIZED, replay, victim.stem)

    compact_partition(partition, PSEUDONYMIZED)

    assert victim.stem not in pq.read_table(data_files(partition)[0]).column("batch_id").to_pylist()


def test_cli_compacts_selected_zone_and_date(data_dir, run):
    other_day = _partition(data_dir, day=DAYS[1])
    files_other_day = _batch_ids(other_day)
    result = run(lake_group, ["compact", "--data-dir", data_dir, "--zone", PSEUDONYMIZED, "--date",
                              DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"{PSEUDONYMIZED}/event_date={DAY.isoformat()}: merged" in result.output
    assert len(data_files(_partition(data_dir))) == 1
    assert _batch_ids(other_day) == files_other_day
    # The aggregates zone has one file per partition here: untouched.
    assert all(len(data_files(p)) == 1 for p in zone_dir(data_dir, AGGREGATES).iterdir())


def test_cli_errors_are_one_line(tmp_path, run):
    result = run(lake_group, ["compact", "--data-dir", tmp_path / "missing"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: data dir {tmp_path / 'missing'} does not exist "
                                                  "(set --data-dir or ANONPIPE_DATA_DIR)"]
    result = run(lake_group, ["compact", "--data-dir", tmp_path, "--date", "2025-13-01"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "not a date" in result.output
