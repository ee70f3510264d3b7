"""Roll a buffer of sink messages into one Parquet table per date partition, minus rows already on disk.

Pure: tables in, planned files out, no I/O. The sink buffers many messages and writes them as one file per
partition (large files are what makes the lake fast to write and to scan); the source ranges and batch ids named
in each file's footer are what keeps it exactly-once when messages are delivered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.columns import DATE_COLUMN
from pipeline.common.positions import HeldPositions, RangeSet, parse_range_id
from pipeline.common.wire import POSITION_COLUMN
from pipeline.lake.layout import batch_file_name
from pipeline.lake.ledger import batch_ids_digest, batch_ids_metadata

BATCH_ID_COLUMN = "batch_id"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Hive's name for a null partition value: such rows are kept, not lost


@dataclass(frozen=True)
class SinkMessage:
    """One message of an internal topic: its batch id (derived from raw offsets) and its rows."""

    batch_id: str
    table: pa.Table


@dataclass(frozen=True)
class PlannedFile:
    """Rows for one date partition, without the partition column; `name` is derived from the batch ids."""

    date_value: str
    name: str
    table: pa.Table
    batch_ids: frozenset[str]


def with_batch_id(table: pa.Table, batch_id: str) -> pa.Table:
    column = pa.repeat(pa.scalar(batch_id, pa.string()), table.num_rows)
    if BATCH_ID_COLUMN in table.schema.names:
        return table.set_column(table.schema.get_field_index(BATCH_ID_COLUMN), BATCH_ID_COLUMN, column)
    return table.append_column(BATCH_ID_COLUMN, column)


def file_name_for(batch_ids: Iterable[str]) -> str:
    """Same batch ids → same name (a rewrite replaces the file); different contents never share a name."""
    ids = sorted(batch_ids)
    # The first id keeps names readable and sorted roughly by source offset.
    return batch_file_name(f"{ids[0][:120]}-n{len(ids)}-{batch_ids_digest(ids, 12)}")


def split_by_partition(table: pa.Table, partition_column: str = DATE_COLUMN) -> dict[str, pa.Table]:
    """Partition value → rows (without the column). A stream message usually holds one day: no copy then."""
    keys = table.column(partition_column)
    values = pc.unique(keys)
    out = {}
    for value in values.drop_null().to_pylist():
        rows = table if len(values) == 1 else table.filter(pc.equal(keys, value))
        out[str(value)] = rows.drop_columns([partition_column])
    if values.null_count:
        out[NULL_PARTITION] = table.filter(pc.is_null(keys)).drop_columns([partition_column])
    return out


def plan_files(messages: Iterable[SinkMessage], held: Callable[[str], HeldPositions | set[str]],
               partition_column: str = DATE_COLUMN) -> list[PlannedFile]:
    """One file per partition value, without the rows `held(value)` already has.

    A message named by a range id (pipeline/positions.py) has its rows checked one by one against the positions
    held for its stream, so a replay gathered into other batches adds only what is missing; the file then names
    the merged ranges it covers. Older messages (and the k-anonymity releases) are held or not as a whole batch.
    """
    by_partition: dict[str, list[tuple[SinkMessage, pa.Table]]] = {}
    for message in messages:
        if not message.table.num_rows:
            continue
        for value, rows in split_by_partition(message.table, partition_column).items():
            by_partition.setdefault(value, []).append((message, rows))
    planned = []
    for value in sorted(by_partition):
        already = held(value)
        if not isinstance(already, HeldPositions):  # a plain set of batch ids
            already = HeldPositions.from_ids(already)
        taken = HeldPositions({}, set())
        pieces = []
        for message, rows in by_partition[value]:
            parsed = parse_range_id(message.batch_id)
            if parsed is None or POSITION_COLUMN not in rows.schema.names:
                # An upstream replay can deliver the same batch twice within one buffer; its first copy is kept.
                if message.batch_id not in already.batch_ids and message.batch_id not in taken.batch_ids:
                    taken.batch_ids.add(message.batch_id)
                    pieces.append(with_batch_id(rows, message.batch_id))
                continue
            stream, lo, hi = parsed
            positions = rows.column(POSITION_COLUMN).to_numpy()
            seen = taken.ranges.setdefault(stream, RangeSet())
            fresh = ~seen.covers(positions)
            if stream in already.ranges:
                fresh &= ~already.ranges[stream].covers(positions)
            if fresh.all():
                pieces.append(with_batch_id(rows, message.batch_id))
            elif fresh.any():
                pieces.append(with_batch_id(rows.filter(pa.array(fresh)), message.batch_id))
            seen.add(lo, hi)
        if not pieces:
            continue
        # "default" promotion null-fills a column only newer messages have (a policy added an optional field).
        table = pa.concat_tables(pieces, promote_options="default")
        if POSITION_COLUMN in table.schema.names:
            table = table.drop_columns([POSITION_COLUMN])  # positions live in the footer's ranges, not in rows
        ids = frozenset(taken.batch_ids | set(taken.range_ids()))
        planned.append(PlannedFile(value, file_name_for(ids), table.replace_schema_metadata(batch_ids_metadata(ids)),
                                   ids))
    return planned
