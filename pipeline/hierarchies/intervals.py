"""Numeric interval hierarchy builder: `interval:width=5,10,20[;origin=0]`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.hierarchies.base import Hierarchy, HierarchyError, hierarchy_from_columns

name = "interval"


def parse_params(params: str) -> dict:
    """Parse `width=5,10,20` (or just `5,10,20`) plus an optional `;origin=X`."""
    parsed: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in params.split(";"))):
        key, sep, value = part.partition("=")
        if not sep:
            key, value = "width", key
        parsed[key.strip()] = value.strip()
    unknown = set(parsed) - {"width", "origin"}
    if unknown:
        raise HierarchyError(f"interval: unknown parameter(s) {sorted(unknown)}; expected width=, origin=")
    try:
        widths = [float(w) for w in parsed.get("width", "").split(",") if w.strip()]
        origin = float(parsed.get("origin", 0))
    except ValueError as exc:
        raise HierarchyError(f"interval: widths and origin must be numbers ({exc})") from exc
    if not widths or any(w <= 0 for w in widths):
        raise HierarchyError("interval: give at least one positive width, e.g. interval:width=5,10,20")
    for finer, coarser in zip(widths, widths[1:]):
        # Only if each width is a multiple of the previous one does every bin nest in one parent.
        ratio = coarser / finer
        if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
            raise HierarchyError(f"interval: width {coarser:g} is not a multiple of {finer:g}; bins would not nest")
    return {"widths": widths, "origin": origin}


def build(column: str, values: np.ndarray, params: dict) -> Hierarchy:
    """Bin numeric leaves into half-open intervals `[lo, hi)` of each width, then `*`."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers)
    if bad.any():
        value = values[np.flatnonzero(bad)[0]]
        raise HierarchyError(f"interval hierarchy for {column!r}: value {value!r} is not a number")
    origin = params["origin"]
    levels = []
    for width in params["widths"]:
        low = np.floor((numbers - origin) / width) * width + origin
        levels.append(np.array([f"[{lo:g}, {lo + width:g})" for lo in low], dtype=object))
    return hierarchy_from_columns(column, values, levels)
