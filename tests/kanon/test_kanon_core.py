"""Window release: golden cases, and the k / partition properties on random windows checked by brute force."""

from __future__ import annotations

import random

import h3
import pytest

from pipeline.kanon.core import CellState, release_window
from pipeline.policy.model import Hierarchy, KAnonSection

# Astana cells at resolution 8 with a shared resolution-7 parent, and one far away.
BASE = h3.latlng_to_cell(51.128, 71.430, 8)
SIBLINGS = [c for c in h3.cell_to_children(h3.cell_to_parent(BASE, 7), 8)][:4]
FAR = h3.latlng_to_cell(51.20, 71.60, 8)


def config(k: int = 3) -> KAnonSection:
    return KAnonSection(k=k, quasi_identifiers={"geo_h3": Hierarchy(kind="h3", resolutions=[7, 6]),
                                                "os_family": Hierarchy()},
                        rollup_order=["geo_h3", "geo_h3", "os_family", "geo_h3"])


def cell(geo: str, os: str = "Android", event_type: str = "app_open") -> tuple:
    return (event_type, geo, os)


def users(*names: str) -> set[str]:
    return set(names)


@pytest.mark.parametrize("cells, expected_rows, suppressed", [
    # one cell with k subjects: published as is, nothing suppressed
    ({cell(SIBLINGS[0]): CellState(5, users("a", "b", "c"))}, [(cell(SIBLINGS[0]), (0, 0), 5, 3)], 0),
    # two small sibling cells merge into their resolution-7 parent (level 1)
    ({cell(SIBLINGS[0]): CellState(2, users("a", "b")), cell(SIBLINGS[1]): CellState(1, users("c"))},
     [(cell(h3.cell_to_parent(BASE, 7)), (1, 0), 3, 3)], 0),
    # a big cell stays fine; its small sibling alone cannot reach k anywhere → suppressed
    ({cell(SIBLINGS[0]): CellState(9, users("a", "b", "c", "d")), cell(SIBLINGS[1]): CellState(1, users("e"))},
     [(cell(SIBLINGS[0]), (0, 0), 9, 4)], 1),
    # different OS in the same place: merged only once OS is generalized to '*'
    ({cell(SIBLINGS[0], "Android"): CellState(1, users("a", "b")), cell(SIBLINGS[0], "iOS"): CellState(1, users("c"))},
     [(cell(h3.cell_to_parent(BASE, 6), "*"), (2, 1), 2, 3)], 0),
    # the same subject in two cells counts once in the merged cell (distinct subjects, not events)
    ({cell(SIBLINGS[0]): CellState(3, users("a", "b")), cell(SIBLINGS[1]): CellState(4, users("a", "b"))}, [], 7),
    # event types are never merged: two types with 2 subjects each stay suppressed at k = 3
    ({cell(SIBLINGS[0], event_type="search"): CellState(2, users("a", "b")),
      cell(SIBLINGS[0], event_type="login"): CellState(2, users("c", "d"))}, [], 4),
])
def test_golden_releases(cells, expected_rows, suppressed):
    release = release_window(cells, config())
    got = sorted((r.cell, r.levels, r.events, r.subjects) for r in release.rows)
    assert got == sorted(expected_rows)
    assert release.suppressed_events == suppressed


def random_window(rng: random.Random, n_events: int) -> tuple[dict, list[tuple]]:
    """Random events → (cells for the release, the events themselves for an independent recount)."""
    events = []
    for _ in range(n_events):
        geo = rng.choice(SIBLINGS + [FAR])
        events.append((rng.choice(["app_open", "search"]), geo, rng.choice(["Android", "iOS", "Windows"]),
                       f"s{rng.randrange(40)}"))
    cells: dict = {}
    for event_type, geo, os, subject in events:
        state = cells.setdefault((event_type, geo, os), CellState())
        state.events += 1
        state.subjects.add(subject)
    return cells, events


def covers(row_cell: tuple, levels: tuple, event: tuple) -> bool:
    event_type, geo, os, _ = event
    if row_cell[0] != event_type:
        return False
    geo_level, os_level = levels
    resolutions = {1: 7, 2: 6}
    geo_value = geo if geo_level == 0 else (h3.cell_to_parent(geo, resolutions[geo_level]) if geo_level in resolutions else "*")
    os_value = os if os_level == 0 else "*"
    return row_cell[1] == geo_value and row_cell[2] == os_value


@pytest.mark.parametrize("seed", range(12))
def test_every_row_has_k_subjects_and_rows_partition_the_events(seed):
    rng = random.Random(seed)
    k = rng.choice([2, 3, 5])
    cells, events = random_window(rng, rng.randrange(5, 120))
    release = release_window(cells, config(k))
    # independent recount: each event belongs to the finest published row covering it
    owners = []
    for event in events:
        candidates = [i for i, r in enumerate(release.rows) if covers(r.cell, r.levels, event)]
        owners.append(min(candidates, key=lambda i: sum(release.rows[i].levels)) if candidates else None)
    for i, row in enumerate(release.rows):
        mine = [e for e, owner in zip(events, owners) if owner == i]
        assert len(mine) == row.events
        assert len({e[3] for e in mine}) == row.subjects >= k
    assert sum(1 for o in owners if o is None) == release.suppressed_events
    assert sum(r.events for r in release.rows) + release.suppressed_events == len(events) == release.events
