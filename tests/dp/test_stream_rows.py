"""From the kanon window state to DP rows: per-person event counts survive the changelog records, and one person's
identities (before and after login) are linked into one person before bounding."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dp_cases import small_config
from pipeline.dp.bounding import bound_contributions
from pipeline.dp.stream import cell_rows
from pipeline.kanon.core import pre_aggregate
from pipeline.kanon.state import KAnonState

HOUR = 3_600_000
W0 = 10 * HOUR


def batch(rows: list[tuple]) -> pa.Table:
    """(event_type, os, user, device) per event, all in hour W0."""
    event_type, os, user, device = (list(c) for c in zip(*rows))
    return pa.table({"event_hour": pa.array([W0 + 60_000] * len(rows), pa.timestamp("ms", tz="UTC")),
                     "event_type": event_type, "os_family": os, "user_pseudonym": user, "device_pseudonym": device,
                     "cookie_pseudonym": [None] * len(rows), "session_pseudonym": [None] * len(rows)})


def test_counts_survive_the_state_and_one_person_is_linked_across_login():
    config = small_config().model_copy(update={"release": "dp"})
    state = KAnonState({}, sources=["0"])
    # device d1 before login (3 events), then user u1 on d1 (4 events), same cell; d2 is someone else (1 event)
    first = batch([("search", "iOS", None, "d1")] * 3 + [("search", "iOS", None, "d2")])
    second = batch([("search", "iOS", "u1", "d1")] * 4 + [("app_open", "iOS", "u1", "d1")] * 2)
    for offset, table in enumerate((first, second)):
        updates = {cell: update for (window, cell), update in pre_aggregate(table, config, "event_hour").items()}
        state.apply(0, W0, updates, "0", offset, offset)
    cells, _ = state.take_window(0, W0)
    columns, subjects, events = cell_rows(cells)
    per_person: dict = {}
    for cell, subject, count in zip(zip(*columns), subjects.tolist(), events.tolist()):
        per_person.setdefault(subject, {}).setdefault(cell, 0)
        per_person[subject][cell] += count
    assert sorted(per_person.values(), key=len) == [
        {("search", "iOS"): 1},                                  # d2
        {("search", "iOS"): 7, ("app_open", "iOS"): 2}]          # d1 and u1 are one person
    bounded = bound_contributions(np.zeros(len(subjects), dtype=np.int64), subjects, events,
                                  max_cells=1, max_events=5)
    assert sorted(bounded.events.tolist()) == [1, 5]  # the linked person is bounded as one


def test_k_anonymity_mode_keeps_no_per_person_counts():
    config = small_config()
    table = batch([("search", "iOS", None, "d1")] * 2)
    assert all(not u.counts for u in pre_aggregate(table, config, "event_hour").values())


def test_dp_releases_every_window_and_only_partitions_that_own_public_values():
    from pipeline.dp.stream import due_windows, releasing_partitions
    from pipeline.pseudonymize.batch import partition_for
    # windows 2 and 3 had no events: released anyway, so a gap says nothing about anyone
    assert due_windows([W0, W0 + 4 * HOUR], 0, HOUR) == [W0 + i * HOUR for i in range(5)]
    assert due_windows([W0 + 4 * HOUR], W0 + HOUR, HOUR) == [W0 + i * HOUR for i in range(1, 5)]
    assert due_windows([], W0, HOUR) == []
    config = small_config().model_copy(update={"release": "dp"})
    owners = sorted({partition_for(v, 4) for v in config.dp.domain["event_type"].values})
    assert releasing_partitions(config, 4) == owners
    assert releasing_partitions(config.model_copy(update={"release": "both"}), 4) == [0, 1, 2, 3]
