"""Streaming roll-up ladders: the policy's hierarchies run through the shared builders of pipeline/hierarchies/.

The extract and the stream generalize with the same code (`spec_from_policy` → a builder such as `h3` or `star`).
Two stream conventions stay here: a null value (published as 'unknown') is raised straight to '*', and a value the
builder cannot read (not an H3 cell) becomes 'unknown' rather than stopping the release.
"""

from __future__ import annotations

import functools

import numpy as np

from pipeline.policy.model import Hierarchy

STAR = "*"
UNKNOWN = "unknown"


def levels(hierarchy: Hierarchy) -> int:
    """How many times the value can be raised before it is '*'."""
    return len(hierarchy.resolutions) + 1 if hierarchy.kind == "h3" else 1


@functools.lru_cache(maxsize=64)
def _spec(kind: str, resolutions: tuple[int, ...]):
    # Imported here: the builders load pandas, which a worker only needs once it releases a window.
    from pipeline.hierarchies.registry import spec_from_policy
    return spec_from_policy("stream", {"kind": kind, "resolutions": list(resolutions)})


def generalize_many(hierarchy: Hierarchy, values: list[str], level: int) -> list[str]:
    """Each value raised to `level` (0 = as published by the pseudonymize stage), one builder call for all."""
    if level <= 0:
        return list(values)
    if hierarchy.kind == "star" or level > len(hierarchy.resolutions):
        return [STAR] * len(values)
    from pipeline.hierarchies.base import HierarchyError
    spec = _spec(hierarchy.kind, tuple(hierarchy.resolutions))
    out = list(values)
    todo = [i for i, v in enumerate(values) if v not in (STAR, UNKNOWN)]
    for i in range(len(values)):
        if values[i] == UNKNOWN:
            out[i] = STAR
    if not todo:
        return out
    try:
        raised = spec.generalize(np.array([values[i] for i in todo], dtype=object), level).tolist()
    except HierarchyError:
        raised = [_one(spec, values[i], level) for i in todo]
    for i, value in zip(todo, raised):
        out[i] = value
    return out


def _one(spec, value: str, level: int) -> str:
    from pipeline.hierarchies.base import HierarchyError
    try:
        return spec.generalize(np.array([value], dtype=object), level)[0]
    except HierarchyError:
        return UNKNOWN


def generalize(hierarchy: Hierarchy, value: str, level: int) -> str:
    """One value raised to `level` (see `generalize_many`)."""
    return generalize_many(hierarchy, [value], level)[0]
