"""Categorical builder `star`: any value is released as is or generalized to `*` (one step)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipeline.hierarchies.base import HierarchyError

name = "star"


def parse_params(params: str, defaults: Mapping[str, str]) -> dict:
    """`star` takes no parameters."""
    if params.strip():
        raise HierarchyError(f"star: takes no parameters, got {params!r}")
    return {}


def levels(params: dict) -> int:
    """No level between the value and `*`."""
    return 0


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """Never called: a star hierarchy has no intermediate level."""
    raise HierarchyError(f"star: no level {level}")
