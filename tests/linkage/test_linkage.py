"""pipeline/linkage.py: rows linked by shared identifiers, checked against a plain union-find oracle."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.linkage import NO_SUBJECT, components, subject_ids, subjects_of_seeds
from people_oracle import UnionFind


def oracle(columns):
    """Reference: a dict-based union-find over (column, value) nodes, one partition of the rows."""
    people = UnionFind()
    rows = len(columns[0])
    for r in range(rows):
        nodes = [(j, col[r]) for j, col in enumerate(columns) if col[r] is not None]
        for node in nodes[1:]:
            people.union(node, nodes[0])
        for node in nodes[:1]:
            people.find(node)
    return [people.find((j, col[r])) if (j, col[r]) in people else None
            for r in range(rows) for j, col in [next(((j, c) for j, c in enumerate(columns) if c[r] is not None),
                                                        (0, [None] * rows))]]


def same_partition(ids, reference) -> bool:
    """Two labelings describe the same grouping (labels themselves are arbitrary)."""
    forward, backward = {}, {}
    for a, b in zip(ids.tolist(), reference):
        if (a == NO_SUBJECT) != (b is None):
            return False
        if forward.setdefault(a, b) != b or backward.setdefault(b, a) != a:
            return False
    return True


values = st.one_of(st.none(), st.sampled_from([f"v{i}" for i in range(12)]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.tuples(*[values] * n), max_size=40)))
def test_components_match_a_plain_union_find(rows):
    if not rows:
        return
    columns = [list(c) for c in zip(*rows)]
    ids = subject_ids(columns)
    assert ids.dtype == np.int64 and len(ids) == len(rows)
    assert same_partition(ids, oracle(columns))
    present = ids[ids >= 0]
    if len(present):
        assert set(present.tolist()) == set(range(present.max() + 1))  # dense ids


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=30), st.data())
def test_more_rows_only_merge_subjects(rows, data):
    # Linking a superset of rows never splits two rows that were linked (the safe direction for k).
    extra = data.draw(st.lists(st.tuples(values, values), max_size=10))
    small = subject_ids([list(c) for c in zip(*rows)])
    big = subject_ids([list(c) for c in zip(*(rows + extra))])[: len(rows)]
    for i in range(len(rows)):
        for j in range(len(rows)):
            if small[i] == small[j] != NO_SUBJECT:
                assert big[i] == big[j]


@pytest.mark.parametrize("user, device, expected", [
    # login mid-session: device-only rows and user+device rows are one person
    ([None, "u1", "u1"], ["d1", "d1", "d1"], [0, 0, 0]),
    # one person, two devices, both signed in: linked through the user
    (["u1", None, "u1", None], ["d1", "d1", "d2", "d2"], [0, 0, 0, 0]),
    # shared family device: two users merge into one subject (fewer people, the safe direction)
    (["u1", "u2", "u3"], ["d1", "d1", "d9"], [0, 0, 1]),
    # signed out on two devices: nothing links them
    ([None, None], ["d1", "d2"], [0, 1]),
    # a row without identifiers belongs to no subject
    ([None, "u1"], [None, "d1"], [NO_SUBJECT, 0]),
])
def test_identity_cases(user, device, expected):
    ids = subject_ids([user, device]).tolist()
    assert same_partition(np.array(ids), [None if e == NO_SUBJECT else e for e in expected])


def test_equal_strings_in_different_columns_do_not_merge():
    # "x" as a user pseudonym and "x" as a device pseudonym are different identifiers.
    ids = subject_ids([["x", None], [None, "x"]])
    assert ids[0] != ids[1]


def test_arrow_columns_and_all_null_input():
    table = pa.table({"u": pa.array([None, None], pa.string()), "d": pa.array([None, None], pa.string())})
    assert subject_ids([table.column("u"), table.column("d")]).tolist() == [NO_SUBJECT, NO_SUBJECT]
    assert subject_ids([[], []]).tolist() == []


def test_components_cap_sets_apart_a_kiosk_device():
    users = [f"u{i}" for i in range(6)] + ["u9"]
    devices = ["kiosk"] * 6 + ["d9"]
    linkage = components([users, devices], names=["user", "device"], max_size=4)
    assert [g.identifiers for g in linkage.groups] == [{"user": frozenset({"u9"}), "device": frozenset({"d9"})}]
    assert len(linkage.oversized) == 1 and linkage.oversized[0].size == 7 and linkage.oversized[0].rows == 6
    assert linkage.containing("user", ["u3"]) == []
    assert linkage.oversized_containing("user", ["u3"])[0].identifiers["device"] == frozenset({"kiosk"})
    assert [c.identifiers["user"] for c in subjects_of_seeds(linkage, {"device": ["d9"]})] == [frozenset({"u9"})]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="rows"):
        subject_ids([["a", "b"], ["c"]])


def test_long_chain_links_end_to_end():
    # A path u0–d0–u1–d1–…: user i and user i+1 share device i. Shuffled labels and rows: the worst case for
    # propagation of the smallest label, which hook-and-compress must still finish quickly.
    n = 20_000
    rng = np.random.default_rng(3)
    users, devices = rng.permutation(n + 1), rng.permutation(n)
    rows = [(f"u{users[i + step]}", f"d{devices[i]}") for i in range(n) for step in (0, 1)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    ids = subject_ids([[r[0] for r in rows], [r[1] for r in rows]])
    assert set(ids.tolist()) == {0}
