"""H3 cell builder `h3:8,7,6,5`: each level is the parent cell at that resolution, or the cell itself if coarser."""

from __future__ import annotations

from collections.abc import Mapping

import h3
import numpy as np
import pandas as pd

from pipeline.hierarchies.base import HierarchyError

name = "h3"


def parse_params(params: str, defaults: Mapping[str, str]) -> dict:
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


def levels(params: dict) -> int:
    """One level per resolution."""
    return len(params["resolutions"])


def _parent(cell: str, resolution: int) -> str:
    if not h3.is_valid_cell(cell):
        raise HierarchyError(f"{cell!r} is not a valid H3 cell")
    # The lake mixes resolutions by design (coarser cells where accuracy was poor): a cell that is
    # already as coarse as the level stays as it is, so every cell still has exactly one parent.
    return cell if h3.get_resolution(cell) <= resolution else h3.cell_to_parent(cell, resolution)


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """Each cell's ancestor at the level's resolution (computed once per distinct cell)."""
    resolution = params["resolutions"][level - 1]
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    parents = np.array([_parent(str(cell), resolution) for cell in uniques], dtype=object)
    return parents[codes]
