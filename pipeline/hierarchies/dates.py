"""Date/time truncation hierarchy builder: `date:hour,day,month,year`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.hierarchies.base import Hierarchy, HierarchyError, hierarchy_from_columns

name = "date"

# Finest to coarsest; each unit nests in every later one, so the levels form a tree.
UNIT_FORMATS = {
    "minute": "%Y-%m-%dT%H:%M",
    "hour": "%Y-%m-%dT%H",
    "day": "%Y-%m-%d",
    "month": "%Y-%m",
    "year": "%Y",
}
_ORDER = list(UNIT_FORMATS)


def parse_params(params: str) -> dict:
    """Parse a comma list of units, each coarser than the one before."""
    units = [u.strip().lower() for u in params.split(",") if u.strip()]
    if not units:
        raise HierarchyError(f"date: give units, e.g. date:hour,day,month,year (known: {', '.join(_ORDER)})")
    unknown = [u for u in units if u not in UNIT_FORMATS]
    if unknown:
        raise HierarchyError(f"date: unknown unit(s) {unknown}; known: {', '.join(_ORDER)}")
    ranks = [_ORDER.index(u) for u in units]
    if ranks != sorted(set(ranks)):
        raise HierarchyError(f"date: units must go from finer to coarser without repeats, got {','.join(units)}")
    return {"units": units}


def build(column: str, values: np.ndarray, params: dict) -> Hierarchy:
    """Truncate each timestamp to every unit in turn, then `*`."""
    parsed = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise HierarchyError(f"date hierarchy for {column!r}: value {values[np.flatnonzero(bad)[0]]!r} is not a date")
    levels = [parsed.dt.strftime(UNIT_FORMATS[unit]).to_numpy(dtype=object) for unit in params["units"]]
    return hierarchy_from_columns(column, values, levels)
