"""split_by_partition sends every row to partition_for(its value), row order kept within each partition."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.pseudonymize.batch import partition_for, split_by_partition


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.lists(st.none() | st.sampled_from(["search", "login", "", "app_open"]) | st.text(max_size=5),
                                max_size=12), max_size=4),
       partitions=st.integers(1, 6))
def test_rows_go_to_partition_for_their_value(chunks, partitions):
    values = [v for chunk in chunks for v in chunk]
    column = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], type=pa.string())
    table = pa.table({"event_type": column, "row": pa.array(range(len(values)), pa.int64())})
    expected: dict[int, list[int]] = {}
    for row, value in enumerate(values):
        expected.setdefault(partition_for(value, partitions), []).append(row)
    got = split_by_partition(table, "event_type", partitions)
    assert {p: part.column("row").to_pylist() for p, part in got.items()} == expected
