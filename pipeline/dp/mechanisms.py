"""OpenDP mechanisms the release uses: discrete Laplace counts and Laplace-threshold cell selection.

All noise comes from OpenDP (its samplers are exact and floating-point safe); this module only builds the
measurements, asks the library's own privacy map what a release spends, and turns scales into 95 % intervals.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import opendp.prelude as dp

dp.enable_features("contrib")

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Spend:
    """One mechanism's line in the ledger."""

    statistic: str
    mechanism: str
    scale: float
    epsilon: float
    delta: float = 0.0
    threshold: int | None = None


@functools.lru_cache(maxsize=256)
def _laplace(scale: float):
    domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
    return dp.m.make_laplace(domain, dp.l1_distance(T=dp.i64), scale=scale)


@functools.lru_cache(maxsize=256)
def calibrate(sensitivity: int, epsilon: float) -> tuple[float, float]:
    """(scale, ε spent): the scale whose privacy map, as OpenDP computes it, stays within `epsilon`."""
    scale = sensitivity / epsilon
    for _ in range(1000):  # our division may round below what the library's map accepts: step up to it
        if _laplace(scale).map(sensitivity) <= epsilon:
            return float(scale), float(_laplace(scale).map(sensitivity))
        scale = float(np.nextafter(scale, np.inf))
    raise ValueError(f"no Laplace scale near {sensitivity / epsilon} meets ε = {epsilon}")


def noisy_counts(values: np.ndarray, sensitivity: int, epsilon: float, statistic: str) -> tuple[np.ndarray, Spend]:
    """Discrete Laplace noise on a vector of counts whose L1 change per person is at most `sensitivity`."""
    scale, spent = calibrate(sensitivity, epsilon)
    noisy = np.asarray(_laplace(scale)(np.asarray(values, dtype=np.int64).tolist()), dtype=np.int64) \
        if len(values) else np.zeros(0, dtype=np.int64)
    return noisy, Spend(statistic, "discrete_laplace", scale, spent)


@functools.lru_cache(maxsize=64)
def _threshold(scale: float, threshold: int):
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=dp.i64))
    metric = dp.l01inf_distance(dp.absolute_distance(T=dp.i64))
    return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)


@functools.lru_cache(maxsize=64)
def selection_threshold(max_cells: int, epsilon: float, delta: float, at_least: int) -> tuple[float, int]:
    """(scale, threshold) of the Laplace-threshold selection: the smallest threshold ≥ `at_least` meeting δ."""
    scale, _ = calibrate(max_cells, epsilon)
    d_in = (max_cells, max_cells, 1)  # a person touches ≤ max_cells cells, adding ≤ 1 person to each
    threshold = max(int(at_least), 1)
    step = 1
    while _threshold(scale, threshold).map(d_in)[1] > delta:
        threshold += step
        step *= 2
    low = max(threshold - step // 2, int(at_least), 1)
    while low < threshold:  # binary search back down to the smallest threshold that meets δ
        middle = (low + threshold) // 2
        if _threshold(scale, middle).map(d_in)[1] <= delta:
            threshold = middle
        else:
            low = middle + 1
    return scale, threshold


@functools.lru_cache(maxsize=64)
def _threshold_spend(scale: float, threshold: int, max_cells: int) -> tuple[float, float]:
    return tuple(_threshold(scale, threshold).map((max_cells, max_cells, 1)))


def select_cells(people: dict[str, int], max_cells: int, epsilon: float, delta: float,
                 at_least: int) -> tuple[dict[str, int], Spend]:
    """Noisy people counts of the cells whose noisy count reaches the threshold (OpenDP's partition selection).

    Cells absent from the data can never appear, and a cell one person alone could create appears with
    probability at most δ: the set of published cells is itself private.
    """
    scale, threshold = selection_threshold(max_cells, epsilon, delta, at_least)
    spent_epsilon, spent_delta = _threshold_spend(scale, threshold, max_cells)
    kept = _threshold(scale, threshold)(people) if people else {}
    return dict(kept), Spend("users", "laplace_threshold", scale, float(spent_epsilon), float(spent_delta), threshold)


@functools.lru_cache(maxsize=256)
def interval95(scale: float) -> int:
    """Half-width of the 95 % interval of discrete Laplace noise at `scale` (OpenDP's accuracy helper)."""
    return int(np.ceil(dp.discrete_laplacian_scale_to_accuracy(scale, 1 - CONFIDENCE)))
