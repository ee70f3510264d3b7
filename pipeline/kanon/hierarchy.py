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


# (kind, resolutions, level) → {value: raised value}: the builder runs once per distinct value, not per release.
_RAISED: dict[tuple, dict[str, str]] = {}
CACHE_LIMIT = 200_000


def generalize_many(hierarchy: Hierarchy, values: list[str], level: int) -> list[str]:
    """Each value raised to `level` (0 = as published by the pseudonymize stage), one builder call for all."""
    if level <= 0:
        return list(values)
    if hierarchy.kind == "star" or level > len(hierarchy.resolutions):
        return [STAR] * len(values)
    key = (hierarchy.kind, tuple(hierarchy.resolutions), level)
    known = _RAISED.setdefault(key, {STAR: STAR, UNKNOWN: STAR})
    if len(known) > CACHE_LIMIT:
        known.clear()
        known.update({STAR: STAR, UNKNOWN: STAR})
    new = list({v for v in values if v not in known})
    if new:
        from pipeline.hierarchies.base import HierarchyError
        spec = _spec(hierarchy.kind, tuple(hierarchy.resolutions))
        try:
            raised = spec.generalize(np.array(new, dtype=object), level).tolist()
        except HierarchyError:
            raised = [_one(spec, value, level) for value in new]
        known.update(zip(new, raised))
    return [known[v] for v in values]


def _one(spec, value: str, level: int) -> str:
    from pipeline.hierarchies.base import HierarchyError
    try:
        return spec.generalize(np.array([value], dtype=object), level)[0]
    except HierarchyError:
        return UNKNOWN


def generalize(hierarchy: Hierarchy, value: str, level: int) -> str:
    """One value raised to `level` (see `generalize_many`)."""
    return generalize_many(hierarchy, [value], level)[0]
