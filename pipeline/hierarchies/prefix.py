"""Masking builder `prefix:1,2,3`: replaces the last N characters with `*` at each level."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipeline.hierarchies.base import HierarchyError

name = "prefix"


def parse_params(params: str, defaults: Mapping[str, str]) -> dict:
    """Parse a comma list of mask lengths, strictly increasing."""
    try:
        masks = [int(m) for m in params.split(",") if m.strip()]
    except ValueError as exc:
        raise HierarchyError(f"prefix: mask lengths must be integers ({exc})") from exc
    if not masks or masks[0] < 1 or any(a >= b for a, b in zip(masks, masks[1:])):
        raise HierarchyError("prefix: give strictly increasing positive mask lengths, e.g. prefix:1,2,3")
    return {"masks": masks}


def levels(params: dict) -> int:
    """One level per mask length."""
    return len(params["masks"])


def mask(value: str, count: int) -> str:
    """Replace the last ``count`` characters of ``value`` (all of it if shorter) with `*`."""
    keep = max(len(value) - count, 0)
    return value[:keep] + "*" * (len(value) - keep)


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """Mask the level's number of trailing characters."""
    count = params["masks"][level - 1]
    return np.array([mask(str(v), count) for v in values], dtype=object)
