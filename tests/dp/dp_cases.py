"""Small windows for the DP tests: a nine-cell public domain and a background population."""

from __future__ import annotations

import numpy as np

from pipeline.policy.model import DomainColumn, DPSection, Hierarchy, KAnonSection

EVENT_TYPES = ["app_open", "search"]
OS = ["Android", "iOS"]


def small_config(epsilon: float = 1.0, k: int = 5, **dp) -> KAnonSection:
    domain = {"event_type": DomainColumn(values=EVENT_TYPES), "os_family": DomainColumn(values=OS)}
    return KAnonSection(k=k, quasi_identifiers={"os_family": Hierarchy()}, rollup_order=["os_family"],
                        dp=DPSection(epsilon_per_window=epsilon, epsilon_per_period=epsilon * 24, domain=domain,
                                     **dp))


def background(seed: int = 11, people: int = 60, rows: int = 300) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(seed)
    columns = [rng.choice(EVENT_TYPES, rows).tolist(), rng.choice(OS, rows).tolist()]
    return columns, rng.integers(0, people, rows)


def with_rows(base: tuple[list, np.ndarray], cell: tuple[str, str], subject: int, count: int):
    columns, subjects = base
    return ([columns[0] + [cell[0]] * count, columns[1] + [cell[1]] * count],
            np.r_[subjects, [subject] * count])


def published(release, cell: tuple[str, str]) -> tuple[int, int] | None:
    """(events, users) the release shows for a cell, or None: read from the rows as a consumer would."""
    for row in release.rows:
        if row.cell == cell:
            return row.events, row.users
    return None
