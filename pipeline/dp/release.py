"""One window's DP release: bound each person's contribution, then noisy events and people per cell.

`dp` mode: every cell of the public domain gets noisy counts (discrete Laplace; sensitivities `max_events` and
`max_cells` after bounding). `both`: the data's fine cells are selected by OpenDP's Laplace-threshold mechanism on
the people count with a threshold ≥ k, and the selected cells get noisy event counts. In both modes the number of
people whose contribution was cut is released with noise (sensitivity 1).

`share` is the fraction of the window's ε this call may spend: a window released by P stage partitions that
cannot see each other gives each 1/P, since one person's events can reach every partition.
Noisy counts are published as they come, negative ones included: clamping them at 0 (free post-processing)
would bias every sum of cells upwards, by about a third of the noise scale per near-empty cell, and in `dp` mode
most public cells are near-empty. Unclamped, a sum of published cells is an unbiased estimate of the true sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.dp.bounding import bound_contributions, cell_totals
from pipeline.dp.domain import cell_key, domain_cells, domain_codes, observed_cells
from pipeline.dp.mechanisms import Spend, interval95, noisy_counts, select_cells
from pipeline.policy.model import KAnonSection

MODES = ("dp", "both")


@dataclass(frozen=True)
class DPRow:
    cell: tuple[str, ...]
    levels: tuple[int, ...]
    events: int
    users: int
    events_ci95: int
    users_ci95: int


@dataclass
class DPWindowRelease:
    rows: list[DPRow]
    spends: list[Spend] = field(default_factory=list)
    cut_people: int = 0  # noisy: people whose contribution was bounded

    @property
    def epsilon(self) -> float:
        return sum(s.epsilon for s in self.spends)

    @property
    def delta(self) -> float:
        return sum(s.delta for s in self.spends)


def _filter(column, keep: np.ndarray):
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column.filter(pa.array(keep))
    return np.asarray(column, dtype=object)[keep]


def window_epsilon(config: KAnonSection, share: float = 1.0) -> float:
    """ε one call of `release_dp` spends (the ledger checks it against the period's budget before releasing)."""
    return config.dp.epsilon_per_window * share


def release_dp(columns: Sequence, subjects, events=None, *, config: KAnonSection, mode: str = "dp",
               share: float = 1.0, partition_values=None) -> DPWindowRelease:
    """`columns`: per row the partition column then each cell attribute; `subjects`: int64 person ids;
    `events`: events of that person in that row's cell (default 1: event-level rows); `partition_values`: the
    partition column's values this call publishes in `dp` mode (default: all of the public domain)."""
    if mode not in MODES:
        raise ValueError(f"unknown DP release mode {mode!r}; modes are {', '.join(MODES)}")
    params = config.dp
    epsilon = window_epsilon(config, share)
    eps_events, eps_users = epsilon * params.events_share, epsilon * params.users_share
    eps_cut = epsilon - eps_events - eps_users
    subjects = np.asarray(subjects, dtype=np.int64)
    if len(subjects) and subjects.min() < 0:  # rows without any identifier cannot be bounded: they never count
        keep = subjects >= 0
        columns = [_filter(column, keep) for column in columns]
        events = None if events is None else np.asarray(events)[keep]
        subjects = subjects[keep]
    if mode == "dp":
        codes, size = domain_codes(columns, config, partition_values)
        cells = domain_cells(config, partition_values)
    else:
        cells = observed_cells(columns, config)
        codes, size = cells.codes, len(cells.cells)
    bounded = bound_contributions(codes, subjects, events, max_cells=params.max_cells, max_events=params.max_events)
    true_events, true_people = cell_totals(bounded, size)
    spends: list[Spend] = []
    if mode == "dp":
        chosen = np.arange(size)
        people, spend = noisy_counts(true_people, params.max_cells, eps_users, "users")
        spends.append(spend)
    else:
        counts = {cell_key(cells.cells[i]): int(true_people[i]) for i in np.flatnonzero(true_people)}
        selected, spend = select_cells(counts, params.max_cells, eps_users, params.delta_per_window * share,
                                       at_least=config.k)
        spends.append(spend)
        index = {cell_key(c): i for i, c in enumerate(cells.cells)}
        chosen = np.array(sorted(index[key] for key in selected), dtype=np.int64)
        people = np.zeros(size, dtype=np.int64)
        for key, value in selected.items():
            people[index[key]] = value
        people = people[chosen] if len(chosen) else np.zeros(0, dtype=np.int64)
    noisy_events, events_spend = noisy_counts(true_events[chosen], params.max_events, eps_events, "events")
    spends.append(events_spend)
    cut, cut_spend = noisy_counts(np.array([bounded.cut_people]), 1, eps_cut, "cut_people")
    spends.append(cut_spend)
    events_ci, users_ci = interval95(events_spend.scale), interval95(spends[0].scale)
    rows = []
    for position, code in enumerate(chosen.tolist()):
        rows.append(DPRow(cells.cells[code], cells.levels, int(noisy_events[position]), int(people[position]),
                          events_ci, users_ci))
    return DPWindowRelease(rows, spends, int(cut[0]))
