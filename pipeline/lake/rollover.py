"""Roll a buffer of sink messages into one Parquet table per date partition, minus batches already on disk.

Pure: tables in, planned files out, no I/O. The sink buffers many ~1k-row messages and writes them as one file
per partition (large files are what makes the lake fast to write and to scan); the batch ids inside each file
are what keeps it exactly-once when messages are delivered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.columns import DATE_COLUMN
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


def plan_files(messages: Iterable[SinkMessage], held: Callable[[str], set[str]],
               partition_column: str = DATE_COLUMN) -> list[PlannedFile]:
    """One file per partition value; rows of batches that `held(value)` already lists are left out."""
    by_partition: dict[str, dict[str, pa.Table]] = {}
    for message in messages:
        if not message.table.num_rows:
            continue
        for value, rows in split_by_partition(message.table, partition_column).items():
            # An upstream replay can deliver the same batch twice within one buffer; its first copy is kept.
            by_partition.setdefault(value, {}).setdefault(message.batch_id, rows)
    planned = []
    for value in sorted(by_partition):
        already = held(value)
        fresh = {batch_id: rows for batch_id, rows in by_partition[value].items() if batch_id not in already}
        if not fresh:
            continue
        # "default" promotion null-fills a column only newer messages have (a policy added an optional field).
        table = pa.concat_tables([with_batch_id(rows, batch_id) for batch_id, rows in fresh.items()],
                                 promote_options="default")
        ids = frozenset(fresh)
        planned.append(PlannedFile(value, file_name_for(ids), table.replace_schema_metadata(batch_ids_metadata(ids)),
                                   ids))
    return planned
