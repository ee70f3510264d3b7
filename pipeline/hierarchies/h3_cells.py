"""H3 cell hierarchy builder: `h3:8,7,6,5` generalizes a cell to its parent at each resolution."""

from __future__ import annotations

import h3
import numpy as np

from pipeline.hierarchies.base import Hierarchy, HierarchyError, hierarchy_from_columns

name = "h3"


def parse_params(params: str) -> dict:
    """Parse a comma list of H3 resolutions (0–15), strictly decreasing."""
    try:
        resolutions = [int(r) for r in params.split(",") if r.strip()]
    except ValueError as exc:
        raise HierarchyError(f"h3: resolutions must be integers ({exc})") from exc
    if not resolutions or any(not 0 <= r <= 15 for r in resolutions):
        raise HierarchyError("h3: give resolutions between 0 and 15, e.g. h3:8,7,6,5")
    if any(a <= b for a, b in zip(resolutions, resolutions[1:])):
        raise HierarchyError("h3: resolutions must strictly decrease (each level coarser)")
    return {"resolutions": resolutions}


def build(column: str, values: np.ndarray, params: dict) -> Hierarchy:
    """Map each cell to its parent cell at every resolution, then `*`."""
    finest = params["resolutions"][0]
    for value in values:
        if not h3.is_valid_cell(value):
            raise HierarchyError(f"h3 hierarchy for {column!r}: {value!r} is not a valid H3 cell")
        if h3.get_resolution(value) < finest:
            raise HierarchyError(
                f"h3 hierarchy for {column!r}: cell {value!r} has resolution "
                f"{h3.get_resolution(value)}, coarser than the first level {finest}"
            )
    levels = [np.array([h3.cell_to_parent(v, res) for v in values], dtype=object) for res in params["resolutions"]]
    return hierarchy_from_columns(column, values, levels)
