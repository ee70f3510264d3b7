"""Person-level contribution bounding: each person counts in at most `max_cells` cells and `max_events` events.

Input is a window's rows, one per (cell, person) with that person's events in the cell (event-level rows, with
one event each, work too: they are summed first). Each person keeps their busiest `max_cells` cells (ties by cell
code) and, within those, events up to `max_events` in that order; the rest is dropped before any noise. The
choice depends only on that person's own rows, so adding or removing one person changes the bounded counts by at
most `max_cells` people-in-cells and `max_events` events: the sensitivities the noise is calibrated to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bounded:
    """Bounded (cell, person, events) rows, and what was cut (exact: released only with noise)."""

    cells: np.ndarray      # int64 cell code per row
    subjects: np.ndarray   # int64 person id per row
    events: np.ndarray     # int64 events kept per row (≥ 1)
    cut_people: int        # people who lost cells or events
    dropped_events: int


def _sum_by_pair(cells: np.ndarray, subjects: np.ndarray, events: np.ndarray):
    order = np.lexsort((cells, subjects))
    cells, subjects, events = cells[order], subjects[order], events[order]
    starts = np.flatnonzero(np.r_[True, (subjects[1:] != subjects[:-1]) | (cells[1:] != cells[:-1])])
    return cells[starts], subjects[starts], np.add.reduceat(events, starts)


def bound_contributions(cells, subjects, events=None, *, max_cells: int, max_events: int) -> Bounded:
    """Vectorized: O(n log n) in the rows, no per-person Python loop."""
    cells = np.asarray(cells, dtype=np.int64)
    subjects = np.asarray(subjects, dtype=np.int64)
    events = np.ones(len(cells), dtype=np.int64) if events is None else np.asarray(events, dtype=np.int64)
    if len(cells) == 0:
        return Bounded(cells, subjects, events, 0, 0)
    if np.any(events < 1):
        raise ValueError("every row must carry at least one event")
    cells, subjects, events = _sum_by_pair(cells, subjects, events)
    # Per person, busiest cells first; rank = position within the person's rows.
    order = np.lexsort((cells, -events, subjects))
    cells, subjects, events = cells[order], subjects[order], events[order]
    first = np.r_[True, subjects[1:] != subjects[:-1]]
    starts = np.flatnonzero(first)
    run = np.repeat(starts, np.diff(np.r_[starts, len(subjects)]))
    rank = np.arange(len(subjects)) - run
    kept_cells = rank < max_cells
    # Events before this row among the person's kept cells, then clip the running total at max_events.
    kept_events = np.where(kept_cells, events, 0)
    running = np.cumsum(kept_events)
    before = running - kept_events - np.repeat(np.r_[0, running][starts], np.diff(np.r_[starts, len(subjects)]))
    allowed = np.clip(max_events - before, 0, None)
    kept = np.minimum(kept_events, allowed)
    lost = kept < events
    cut_people = len(np.unique(subjects[lost]))
    dropped = int(events.sum() - kept.sum())
    mask = kept > 0
    return Bounded(cells[mask], subjects[mask], kept[mask], cut_people, dropped)


def cell_totals(bounded: Bounded, cell_count: int) -> tuple[np.ndarray, np.ndarray]:
    """(events, people) per cell code 0..cell_count-1 of the bounded rows (each row is one person in one cell)."""
    events = np.bincount(bounded.cells, weights=bounded.events, minlength=cell_count).astype(np.int64)
    people = np.bincount(bounded.cells, minlength=cell_count).astype(np.int64)
    return events, people
