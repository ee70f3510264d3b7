"""The sink's zone writer on a real folder: redelivered buffers, crashes between files and erasure add no rows."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.keys.pseudonym import pseudonym
from pipeline.lake.compaction import compact_zone
from pipeline.lake.erasure import forget
from pipeline.lake.layout import PSEUDONYMIZED, zone_dir
from pipeline.lake.rollover import SinkMessage
from pipeline.lake.zone_writer import ZoneWriter

from .lake_support import read_zone
from .synthetic import pseudonymized_table
from .synthetic import test_ring as make_ring

DAY1, DAY2 = dt.date(2025, 1, 30), dt.date(2025, 2, 2)


def _messages(first: int, count: int, day=DAY1, users=("u1", "u2", "u3")) -> list[SinkMessage]:
    out = []
    for offset in range(first, first + count):
        batch_id = f"r001-{offset:019d}-q0"
        table = pseudonymized_table(make_ring(), day, 25, random.Random(offset), list(users), batch_id)
        out.append(SinkMessage(batch_id, table.drop_columns(["batch_id"])))
    return out


def _event_ids(data_dir) -> list[str]:
    return read_zone(data_dir, PSEUDONYMIZED).column("event_id").to_pylist()


def test_redelivered_and_overlapping_buffers_land_every_row_once(tmp_path):
    writer = ZoneWriter(tmp_path, PSEUDONYMIZED)
    writer.write(_messages(0, 10))
    # After a crash before the commit, the next owner's buffers start at the old offset but end elsewhere.
    restarted = ZoneWriter(tmp_path, PSEUDONYMIZED)  # a fresh process: nothing in memory
    restarted.write(_messages(0, 4))
    restarted.write(_messages(4, 12))
    ids = _event_ids(tmp_path)
    assert len(ids) == 16 * 25 and len(set(ids)) == len(ids)
    assert len(list(zone_dir(tmp_path, PSEUDONYMIZED).rglob("*.parquet"))) == 2  # one buffer rewrote nothing


def test_a_crash_between_the_partition_files_of_one_buffer_is_completed_on_redelivery(tmp_path):
    buffer = _messages(0, 3, DAY1) + _messages(3, 3, DAY2)
    planned = ZoneWriter(tmp_path, PSEUDONYMIZED).write(buffer)
    lost = zone_dir(tmp_path, PSEUDONYMIZED) / f"event_date={DAY2.isoformat()}" / planned[1].name
    lost.unlink()  # as if the process died before the second file was renamed into place
    ZoneWriter(tmp_path, PSEUDONYMIZED).write(buffer)
    ids = _event_ids(tmp_path)
    assert len(ids) == 6 * 25 and len(set(ids)) == len(ids)


def test_a_replay_after_compaction_adds_nothing(tmp_path):
    writer = ZoneWriter(tmp_path, PSEUDONYMIZED)
    for first in range(0, 12, 3):
        writer.write(_messages(first, 3))
    compact_zone(tmp_path, PSEUDONYMIZED)
    writer.write(_messages(0, 12))
    ids = _event_ids(tmp_path)
    assert len(ids) == 12 * 25 and len(set(ids)) == len(ids)


def test_a_replay_after_forget_does_not_bring_the_person_back(tmp_path):
    ring = make_ring()
    buffer = _messages(0, 6, users=("person", "other"))
    ZoneWriter(tmp_path, PSEUDONYMIZED).write(buffer)
    result, _ = forget(tmp_path, ring, {"user_id": "person"})
    assert result.rows_removed > 0
    ZoneWriter(tmp_path, PSEUDONYMIZED).write(buffer)  # the same messages delivered again

    person = {pseudonym(k.secret, "user_id", "person", 16) for k in ring.keys}
    users = set(read_zone(tmp_path, PSEUDONYMIZED).column("user_pseudonym").to_pylist())
    assert users and not users & person


def test_files_are_large_and_carry_their_batch_ids(tmp_path):
    planned = ZoneWriter(tmp_path, PSEUDONYMIZED).write(_messages(0, 40))
    (path,) = zone_dir(tmp_path, PSEUDONYMIZED).rglob("*.parquet")
    assert pq.ParquetFile(path).metadata.num_rows == 40 * 25
    held = set(pc.unique(pq.read_table(path, columns=["batch_id"]).column(0)).to_pylist())
    assert held == planned[0].batch_ids and len(held) == 40
