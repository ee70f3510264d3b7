"""Streaming roll-up ladders of cell attributes: H3 parent cells, districts then the city, or value → '*'.

The extract's builders (pipeline/hierarchies/, `spec_from_policy`) compute the same ladders from the same policy
entries; they import pandas, which the worker process refuses to load (pipeline/worker.py), so the stream keeps
this pandas-free copy and tests/kanon/test_people.py checks that both give the same labels at every level.
Stream conventions on top: a null (published as 'unknown') goes straight to '*', and a value that is not an
H3 cell becomes 'unknown' rather than stopping the release.
"""

from __future__ import annotations

import functools

import h3

from pipeline.common.districts import cached_districts
from pipeline.policy.model import Hierarchy

STAR = "*"
UNKNOWN = "unknown"


@functools.lru_cache(maxsize=200_000)
def _h3_parent(cell: str, resolution: int) -> str:
    try:
        if h3.get_resolution(cell) <= resolution:
            return cell
        return h3.cell_to_parent(cell, resolution)
    except (ValueError, h3.H3BaseException):
        return UNKNOWN


def _district(hierarchy: Hierarchy, value: str, level: int) -> str:
    """districts ladder: level 1 the district (or "several districts"), 2 the city, 3 '*'."""
    districts = cached_districts(hierarchy.geojson, hierarchy.name_property or "name", hierarchy.city)
    label = districts.district_of(value) if value != UNKNOWN and level < 3 else None
    if label is None:
        return STAR
    return label if level == 1 else districts.city_of(label)


def generalize(hierarchy: Hierarchy, value: str, level: int) -> str:
    """`value` raised to `level` (0 = as published by the pseudonymize stage)."""
    if level <= 0 or value == STAR:
        return value
    if hierarchy.kind == "districts":
        return _district(hierarchy, value, level)
    if hierarchy.kind == "star" or level > len(hierarchy.resolutions) or value == UNKNOWN:
        return STAR
    return _h3_parent(value, hierarchy.resolutions[level - 1])


def generalize_many(hierarchy: Hierarchy, values: list[str], level: int) -> list[str]:
    """Each value raised to `level`."""
    return [generalize(hierarchy, value, level) for value in values]
