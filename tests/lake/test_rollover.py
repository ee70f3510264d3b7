"""Rolling sink buffers into partition files: rows kept, batches already held or repeated left out."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lake.ledger import batch_ids_in_footer
from pipeline.lake.rollover import NULL_PARTITION, SinkMessage, file_name_for, plan_files

from .synthetic import pseudonymized_table
from .synthetic import test_ring as make_ring

DAY1, DAY2 = dt.date(2025, 1, 30), dt.date(2025, 1, 31)


def _message(batch_id: str, day: dt.date, n: int = 20, seed: int = 1) -> SinkMessage:
    table = pseudonymized_table(make_ring(), day, n, random.Random(seed), ["a", "b", "c"], batch_id)
    return SinkMessage(batch_id, table.drop_columns(["batch_id"]))  # the sink adds the column itself


def _nothing_held(_date: str) -> set[str]:
    return set()


def test_one_file_per_date_with_every_row_and_its_batch_id():
    messages = [_message("r000-1-q0", DAY1), _message("r000-2-q0", DAY2), _message("r000-3-q0", DAY1, 7)]
    planned = plan_files(messages, _nothing_held)
    assert [p.date_value for p in planned] == [DAY1.isoformat(), DAY2.isoformat()]
    by_date = {p.date_value: p for p in planned}
    assert by_date[DAY1.isoformat()].table.num_rows == 27 and by_date[DAY2.isoformat()].table.num_rows == 20
    assert by_date[DAY1.isoformat()].batch_ids == {"r000-1-q0", "r000-3-q0"}
    for file in planned:
        assert "event_date" not in file.table.schema.names  # hive partition column lives in the path
        assert set(file.table.column("batch_id").to_pylist()) == file.batch_ids
        assert batch_ids_in_footer(file.table.schema.metadata) == file.batch_ids
        assert file.name == file_name_for(file.batch_ids)
    events = pa.concat_tables(m.table for m in messages).column("event_id").to_pylist()
    assert sorted(pa.concat_tables(p.table for p in planned).column("event_id").to_pylist()) == sorted(events)


def test_batches_already_held_by_a_partition_are_left_out_of_that_partition_only():
    two_days = SinkMessage("r000-5-q0", pa.concat_tables([_message("r000-5-q0", DAY1).table,
                                                          _message("r000-5-q0", DAY2, seed=2).table]))
    fresh = _message("r000-6-q0", DAY1)
    # A crash after the DAY1 file of an earlier attempt: DAY1 holds r000-5, DAY2 does not.
    held = {DAY1.isoformat(): {"r000-5-q0"}, DAY2.isoformat(): set()}
    planned = {p.date_value: p for p in plan_files([two_days, fresh], lambda d: held[d])}
    assert planned[DAY1.isoformat()].batch_ids == {"r000-6-q0"}
    assert planned[DAY1.isoformat()].table.num_rows == 20
    assert planned[DAY2.isoformat()].batch_ids == {"r000-5-q0"}
    assert plan_files([two_days], lambda d: {"r000-5-q0"}) == []


def test_a_batch_delivered_twice_in_one_buffer_is_written_once():
    first = _message("r000-7-q0", DAY1)
    planned = plan_files([first, _message("r000-8-q0", DAY1), first], _nothing_held)
    assert len(planned) == 1 and planned[0].table.num_rows == 40
    assert pc.count_distinct(planned[0].table.column("event_id")).as_py() == 40


def test_a_new_optional_column_is_null_filled_for_older_messages():
    old = _message("r000-9-q0", DAY1)
    new = _message("r000-10-q0", DAY1, seed=3)
    new = SinkMessage(new.batch_id, new.table.append_column("carrier", pa.array(["kcell"] * 20)))
    (file,) = plan_files([old, new], _nothing_held)
    carrier = file.table.column("carrier")
    assert carrier.null_count == 20 and pc.count(carrier).as_py() == 20


def test_rows_without_a_date_are_kept_in_the_null_partition():
    message = _message("r000-11-q0", DAY1, 4)
    dates = pa.array([DAY1, None, None, DAY1], pa.date32())
    table = message.table.set_column(message.table.schema.get_field_index("event_date"), "event_date", dates)
    planned = {p.date_value: p.table.num_rows for p in plan_files([SinkMessage("r000-11-q0", table)], _nothing_held)}
    assert planned == {DAY1.isoformat(): 2, NULL_PARTITION: 2}


def test_file_names_depend_on_content_not_order():
    assert file_name_for(["b", "a"]) == file_name_for(["a", "b"])
    assert file_name_for(["a", "b"]) != file_name_for(["a", "c"])
    assert file_name_for(["a"]).endswith(".parquet")
