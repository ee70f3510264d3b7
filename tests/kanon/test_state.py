"""k-anonymity window state: per-batch records merge exactly, replays count once, recovery rebuilds the same view.

The faust table is stood in for by a dict (the state only uses get / set / delete / keys), so these tests run the
real KAnonState logic; the worker-level crash and scale-out tests exercise it through a real changelog.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa

from pipeline.common.positions import RangeSet
from pipeline.kanon.core import CellState
from pipeline.kanon.state import KAnonState

HOUR = 3_600_000
W0, W1 = 10 * HOUR, 11 * HOUR
A = ("app_open", "8a2a1072b59ffff", "Android")
B = ("search", "8a2a1072b59ffff", "iOS")


def _state(table=None) -> KAnonState:
    return KAnonState({} if table is None else table, sources=["0", "1"])


def _update(events: int, *subjects: str) -> CellState:
    """Cells hold identity tuples (user, device) until release; here each subject is a device-only identity."""
    return CellState(events, {(None, s) for s in subjects})


def _ids(*subjects: str) -> set:
    return {(None, s) for s in subjects}




def test_batches_merge_per_cell_and_a_replayed_batch_counts_once():
    state = _state()
    state.apply(0, W0, {A: _update(2, "u1", "u2")}, "0", 10, 10)
    state.apply(0, W0, {A: _update(1, "u2"), B: _update(1, "u3")}, "1", 7, 7)
    state.apply(0, W0, {A: _update(2, "u1", "u2")}, "0", 10, 10)  # replay after a crash
    cells, offsets = state.take_window(0, W0)
    assert cells[A].events == 3 and cells[A].subjects == _ids("u1", "u2")
    assert cells[B].events == 1 and cells[B].subjects == _ids("u3")
    assert offsets == {"0": RangeSet([(10, 10)]), "1": RangeSet([(7, 7)])}


def test_each_batch_writes_one_small_record_per_window():
    table: dict = {}
    state = _state(table)
    big = {(f"t{i}", "cell", "os"): _update(1, f"user-{i}") for i in range(300)}
    for offset in range(20):
        state.apply(0, W0, big, "0", offset, offset)
    state.apply(0, W1, {A: _update(1, "u9")}, "0", 20, 20)
    records = [key for key in table if key.startswith(b"d|")]
    assert len(records) == 21
    # a record holds its batch only: its size does not grow with the window
    assert max(len(table[key]) for key in records) < 20_000


def test_recovery_rebuilds_the_same_windows_from_the_table():
    table: dict = {}
    first = _state(table)
    first.apply(0, W0, {A: _update(1, "u1")}, "0", 1, 1)
    first.apply(0, W1, {B: _update(2, "u2")}, "1", 4, 4)
    first.apply(1, W0, {B: _update(5, "u5")}, "0", 2, 2)  # another stage partition
    recovered = _state(table)  # a new worker: only the table survives
    assert sorted(recovered.windows(0)) == [W0, W1]
    assert recovered.take_window(0, W1) == first.take_window(0, W1)
    recovered.apply(0, W0, {A: _update(1, "u1")}, "0", 1, 1)  # replay seen through the rebuilt index
    assert recovered.take_window(0, W0)[0][A].events == 1


def test_records_of_earlier_versions_are_merged_too():
    table = {b"c|0|%d|3" % W0: orjson.dumps({"cells": {orjson.dumps(list(A)).decode(): [4, ["u1", "u7"]]},
                                              "o": {"0": 5}})}
    state = _state(table)
    state.apply(0, W0, {A: _update(1, "u8")}, "1", 2, 2)
    cells, offsets = state.take_window(0, W0)
    # subjects of the earlier format are 1-tuples; link_people pads them into the first identifier column
    assert cells[A].events == 5 and cells[A].subjects == {("u1",), ("u7",)} | _ids("u8")
    assert offsets == {"0": RangeSet([(0, 5)]), "1": RangeSet([(2, 2)])}


def test_release_drops_the_window_and_leftovers_after_a_crash_are_discarded():
    table: dict = {}
    state = _state(table)
    state.apply(0, W0, {A: _update(1, "u1")}, "0", 1, 1)
    state.apply(0, W1, {A: _update(1, "u2")}, "0", 2, 2)
    _, offsets = state.take_window(0, W0)
    state.finish_release(0, W0, offsets, closed=W0 + HOUR, forget_before_ms=0)
    assert not [k for k in table if k.startswith(b"d|0|%d|" % W0)]
    assert state.not_counted(0, W0, "0", np.array([1, 2])).tolist() == [False, True]

    # A crash after `closed` advanced past W1 but before W1's records were deleted:
    state.set_int("closed|0", W1 + HOUR)
    recovered = _state(table)
    assert recovered.drop_released_leftovers(0, HOUR) == 1
    assert not [k for k in table if k.startswith(b"d|")]


SIZE, GRACE = HOUR, 600_000


def _absorb(state: KAnonState, by_window: dict, stream: str, at: int) -> dict:
    """One batch with a row per window, every row at position `at`, pre-aggregated into `by_window`."""
    windows = sorted(by_window)
    batch = pa.table({"window": windows})

    def aggregate(rows: pa.Table) -> dict:
        return {w: by_window[w] for w in rows.column("window").to_pylist()}
    return state.absorb(0, batch, np.array(windows), np.full(len(windows), at), stream, at, at, SIZE, GRACE,
                        aggregate)


def test_a_due_window_is_final_after_a_crash_and_late_events_are_not_re_released():
    # Finding 3 of issue 14: a crash between delivering W0 and recording `closed` left W0 in the table. Events
    # for W0 that arrive before the restarted worker re-releases it must be late, so the re-release is the same.
    table: dict = {}
    state = _state(table)
    state.apply(0, W0, {A: _update(3, "u1", "u2")}, "0", 1, 1)
    state.advance_source(0, "0", W1 + GRACE)
    state.advance_source(0, "1", W1 + GRACE)  # watermark past W0's end + grace: W0 is due (and was delivered)
    before, _ = state.take_window(0, W0)
    recovered = _state(table)  # crash: `closed` was never written
    late = _absorb(recovered, {W0: {A: _update(1, "u9")}, W1: {B: _update(1, "u3")}}, "1", 50)
    assert set(late) == {W0} and late[W0][A].events == 1
    after, _ = recovered.take_window(0, W0)
    assert after == before  # the pending re-release is identical
    assert recovered.take_window(0, W1)[0][B].events == 1  # an open window still counts


def test_a_replayed_batch_of_a_due_window_is_neither_late_nor_counted_twice():
    state = _state()
    state.apply(0, W0, {A: _update(2, "u1")}, "0", 7, 7)
    state.advance_source(0, "0", W1 + GRACE)
    state.advance_source(0, "1", W1 + GRACE)
    assert _absorb(state, {W0: {A: _update(2, "u1")}}, "0", 7) == {}
    assert state.take_window(0, W0)[0][A].events == 2


def test_a_replay_gathered_into_other_batches_is_recognised_by_positions():
    state = _state()
    state.apply(0, W0, {A: _update(2, "u1", "u2")}, "s1.r000", 0, 99)
    state.apply(0, W0, {A: _update(1, "u3")}, "s1.r000", 100, 199)
    # a replay gathered [50, 180]: every one of its positions is already counted
    assert state.counted(0, W0, "s1.r000").covers(np.array([50, 120, 180])).all()
    # [150, 250] is counted only up to 199; another incarnation of the topic is another stream
    assert state.counted(0, W0, "s1.r000").covers(np.array([150, 199, 200, 250])).tolist() == [True, True, False, False]
    assert not state.counted(0, W0, "s2.r000").covers(np.array([50])).any()
    recovered = _state(state.table)  # the ranges come back from the records' keys
    assert list(recovered.counted(0, W0, "s1.r000")) == [(0, 199)]
    # applied through absorb, a replay batch cut differently adds only its uncounted rows
    rows = pa.table({"window": [W0] * 3})
    late = recovered.absorb(0, rows, np.array([W0] * 3), np.array([150, 199, 200]), "s1.r000", 150, 200, SIZE, GRACE,
                            lambda r: {W0: {B: _update(r.num_rows, "u9")}})
    assert late == {}
    assert recovered.take_window(0, W0)[0][B].events == 1
