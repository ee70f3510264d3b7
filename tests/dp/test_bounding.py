"""Person-level bounding, checked on the outputs with a plain dict count (not the vectorized code under test)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from pipeline.dp.bounding import bound_contributions, cell_totals


def per_person(bounded) -> dict[int, tuple[int, int]]:
    """person → (cells, events) in the bounded rows, counted one row at a time."""
    cells: dict[int, set[int]] = defaultdict(set)
    events: dict[int, int] = defaultdict(int)
    for cell, subject, count in zip(bounded.cells.tolist(), bounded.subjects.tolist(), bounded.events.tolist()):
        cells[subject].add(cell)
        events[subject] += count
    return {s: (len(cells[s]), events[s]) for s in cells}


def population(rng, people: int = 300, rows: int = 3000):
    return rng.integers(0, 40, rows), rng.integers(0, people, rows)


@pytest.mark.parametrize("max_cells, max_events", [
    (3, 10),    # the policy's defaults
    (1, 1),     # one event of one cell per person
    (20, 5_000),   # loose bounds: still half of the heavy person's events and cells go
])
def test_a_person_with_10000_events_is_bounded(max_cells, max_events):
    rng = np.random.default_rng(7)
    cells, subjects = population(rng)
    heavy = 10_000_000
    heavy_cells = rng.integers(0, 40, 10_000)  # 10,000 events spread over (up to) 40 cells
    bounded = bound_contributions(np.r_[cells, heavy_cells], np.r_[subjects, [heavy] * 10_000],
                                  max_cells=max_cells, max_events=max_events)
    counted = per_person(bounded)
    assert counted[heavy][0] <= max_cells and counted[heavy][1] <= max_events
    assert all(c <= max_cells and e <= max_events for c, e in counted.values())
    assert bounded.cut_people >= 1 and bounded.dropped_events >= 10_000 - max_events


def test_other_people_do_not_change_when_one_person_is_added():
    """Stability: the bound for one person depends on that person's rows only."""
    rng = np.random.default_rng(3)
    cells, subjects = population(rng)
    without = bound_contributions(cells, subjects, max_cells=3, max_events=10)
    with_heavy = bound_contributions(np.r_[cells, [5] * 10_000], np.r_[subjects, [999_999] * 10_000],
                                     max_cells=3, max_events=10)
    e0, p0 = cell_totals(without, 40)
    e1, p1 = cell_totals(with_heavy, 40)
    assert np.abs(e1 - e0).sum() <= 10 and np.abs(p1 - p0).sum() <= 3
    assert (e1 - e0).min() >= 0


def test_busiest_cells_are_kept_and_totals_are_exact_under_the_bound():
    # person 1: 5 events in cell 2, 3 in cell 0, 1 in cell 1 → keeps cells 2 and 0 (max_cells 2), 6 events (max 6)
    bounded = bound_contributions([2] * 5 + [0] * 3 + [1] + [7], [1] * 9 + [2], max_cells=2, max_events=6)
    rows = sorted(zip(bounded.subjects.tolist(), bounded.cells.tolist(), bounded.events.tolist()))
    assert rows == [(1, 0, 1), (1, 2, 5), (2, 7, 1)]
    assert (bounded.cut_people, bounded.dropped_events) == (1, 3)


def test_pre_aggregated_rows_and_bad_input():
    bounded = bound_contributions([4, 4], [1, 1], [7, 8], max_cells=1, max_events=10)
    assert bounded.events.tolist() == [10] and bounded.dropped_events == 5
    with pytest.raises(ValueError, match="at least one event"):
        bound_contributions([1], [1], [0], max_cells=1, max_events=1)
    empty = bound_contributions([], [], max_cells=1, max_events=1)
    assert len(empty.cells) == 0 and empty.cut_people == 0
