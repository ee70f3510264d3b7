"""Streaming roll-up ladders of quasi-identifiers: H3 parent cells, or value → '*'.

The extract's builders (pipeline/hierarchies/, `spec_from_policy`) compute the same ladders from the same policy
entries; they import pandas, which the worker process refuses to load (pipeline/worker.py), so the stream keeps
this pandas-free copy and tests/kanon/test_people.py checks that both give the same labels at every level.
Stream conventions on top: a null (published as 'unknown') goes straight to '*', and a value that is not an
H3 cell becomes 'unknown' rather than stopping the release.
"""

from __future__ import annotations

import functools

import h3

from pipeline.policy.model import Hierarchy

STAR = "*"
UNKNOWN = "unknown"


def levels(hierarchy: Hierarchy) -> int:
    """How many times the value can be raised before it is '*'."""
    return len(hierarchy.resolutions) + 1 if hierarchy.kind == "h3" else 1


@functools.lru_cache(maxsize=200_000)
def _h3_parent(cell: str, resolution: int) -> str:
    try:
        if h3.get_resolution(cell) <= resolution:
            return cell
        return h3.cell_to_parent(cell, resolution)
    except (ValueError, h3.H3BaseException):
        return UNKNOWN


def generalize(hierarchy: Hierarchy, value: str, level: int) -> str:
    """`value` raised to `level` (0 = as published by the pseudonymize stage)."""
    if level <= 0 or value == STAR:
        return value
    if hierarchy.kind == "star" or level > len(hierarchy.resolutions) or value == UNKNOWN:
        return STAR
    return _h3_parent(value, hierarchy.resolutions[level - 1])


def generalize_many(hierarchy: Hierarchy, values: list[str], level: int) -> list[str]:
    """Each value raised to `level`."""
    return [generalize(hierarchy, value, level) for value in values]
