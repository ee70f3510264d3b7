"""Source positions and their compact ranges: merged like a set of integers, checked against a plain set."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pipeline.common.positions import (HeldPositions, RangeSet, incarnation_of, parse_range_id, position, range_id,
                                       stream_id)

spans = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)).map(lambda t: (t[0], t[0] + t[1])), max_size=20)


@given(spans, st.lists(st.integers(-5, 240), max_size=50))
def test_a_range_set_covers_exactly_the_union_of_its_ranges(ranges, probes):
    expected = {v for lo, hi in ranges for v in range(lo, hi + 1)}
    merged = RangeSet(ranges)
    assert merged.covers(np.array(probes, dtype=np.int64)).tolist() == [p in expected for p in probes]
    # merged: sorted, disjoint and not even touching (adjacent ranges become one), so it stays small
    pairs = list(merged)
    assert all(hi + 1 < next_lo for (_, hi), (next_lo, _) in zip(pairs, pairs[1:]))
    assert sum(hi - lo + 1 for lo, hi in pairs) == len(expected)


def test_consecutive_batches_merge_into_one_range():
    held = RangeSet()
    for lo in range(0, 10_000, 100):  # a stream's batches, one after another: the ledger does not grow
        held.add(lo, lo + 99)
    assert list(held) == [(0, 9_999)] and held.contains(50, 9_000) and not held.contains(9_000, 10_000)


def test_range_ids_round_trip_and_other_batch_ids_are_left_alone():
    stream = stream_id(incarnation_of("01a251f6-97a9-73b1-a7f3-c37fd2ae1ffb"), 3, 1)
    assert parse_range_id(range_id(stream, position(12, 0), position(40, 5))) == (stream, 12 << 14, (40 << 14) | 5)
    for other in ("r003-0000000000000012345-q1", "agg-w3600000-p001-abc", "late-12"):
        assert parse_range_id(other) is None
    held = HeldPositions.from_ids([range_id(stream, 0, 9), range_id(stream, 10, 19), "agg-w1-p000"])
    assert list(held.ranges[stream]) == [(0, 19)] and held.batch_ids == {"agg-w1-p000"}
    assert held.range_ids() == [range_id(stream, 0, 19)]


def test_a_recreated_topic_is_another_incarnation():
    assert incarnation_of("01a251f6-97a9-73b1-a7f3-c37fd2ae1ffb") != incarnation_of("01a251f6-9bc0-78c1-b39d-9ed5a8d26421")
