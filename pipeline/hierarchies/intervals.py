"""Numeric interval builder `interval:width=5,10,20[;origin=0]`: half-open bins `[lo, hi)`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.hierarchies.base import HierarchyError

name = "interval"


def parse_params(params: str, defaults: Mapping[str, str]) -> dict:
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


def levels(params: dict) -> int:
    """One level per width."""
    return len(params["widths"])


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """The `[lo, hi)` bin of the level's width holding each number."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers)
    if bad.any():
        raise HierarchyError(f"value {values[np.flatnonzero(bad)[0]]!r} is not a number")
    width, origin = params["widths"][level - 1], params["origin"]
    low = np.floor((numbers - origin) / width) * width + origin
    return np.array([f"[{lo:g}, {lo + width:g})" for lo in low], dtype=object)
