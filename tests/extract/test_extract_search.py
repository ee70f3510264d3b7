"""Golden cases and exhaustive cross-checks for the optimal lattice search (in-process)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline.extract.anonymize import ExtractSettings, anonymize
from pipeline.hierarchies import parse_hierarchy_arg

COLOR = "red;warm;*\norange;warm;*\nblue;cold;*\ngreen;cold;*\n"
SIZE = "small;any\nlarge;any\n"
# Eight records: (color, size, diagnosis)
EIGHT = [("red", "small", "flu"), ("red", "small", "flu"), ("red", "large", "cold"), ("orange", "small", "flu"),
         ("blue", "large", "flu"), ("blue", "large", "cold"), ("blue", "small", "flu"), ("green", "large", "flu")]
# Eight records, color only: red x3, orange, blue x3, green
COLORS_ONLY = ["red", "red", "red", "orange", "blue", "blue", "blue", "green"]


def run(tmp_path, frame, hierarchies: dict, **settings):
    specs = []
    for column, text in hierarchies.items():
        path = tmp_path / f"{column}.csv"
        path.write_text(text)
        specs.append(parse_hierarchy_arg(f"{column}={path}"))
    return anonymize(frame, ExtractSettings(qi=tuple(specs), **settings))


@pytest.mark.parametrize(
    "hierarchies, frame, settings, levels, suppressed, score",
    [
        # one QI, k=2, no suppression: orange and green are alone, so generalize to warm/cold (loss 1/3)
        ({"color": COLOR}, {"color": COLORS_ONLY}, {"k": 2}, (1,), 0, 1 / 3),
        # budget floor(0.25*8)=2: suppressing orange+green (loss 2/8) beats generalizing (1/3)
        ({"color": COLOR}, {"color": COLORS_ONLY}, {"k": 2, "suppression": 0.25}, (0,), 2, 0.25),
        # budget floor(0.2*8)=1 is too small for two singletons: back to level 1
        ({"color": COLOR}, {"color": COLORS_ONLY}, {"k": 2, "suppression": 0.2}, (1,), 0, 1 / 3),
        # k=8 is the whole table: only the top level '*' makes one class of 8
        ({"color": COLOR}, {"color": COLORS_ONLY}, {"k": 8}, (2,), 0, 1.0),
        # two QIs, k=2: (color *, size exact) = sqrt(2)-1 beats (warm/cold, any) = sqrt(8/3)-1
        ({"color": COLOR, "size": SIZE}, {"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT]},
         {"k": 2}, (2, 0), 0, math.sqrt(2) - 1),
        # same with budget 2: (warm/cold, exact size) suppressing warm-large and cold-small
        ({"color": COLOR, "size": SIZE}, {"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT]},
         {"k": 2, "suppression": 0.25}, (1, 0), 2, math.sqrt(1.5 * 1.25) - 1),
        # distinct 2-diversity: the "*-small" class is all flu, so (warm/cold, any) wins
        ({"color": COLOR, "size": SIZE},
         {"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT], "diag": [r[2] for r in EIGHT]},
         {"k": 2, "sensitive": "diag", "l": 2}, (1, 1), 0, math.sqrt(8 / 3) - 1),
        # granularity = arithmetic mean of the same per-QI losses: (2, 0) -> (1 + 0) / 2
        ({"color": COLOR, "size": SIZE}, {"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT]},
         {"k": 2, "metric": "granularity"}, (2, 0), 0, 0.5),
        # discernibility: (2, 0) and (1, 1) both give classes 4+4 -> 32, equal height; lexicographic picks (1, 1)
        ({"color": COLOR, "size": SIZE}, {"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT]},
         {"k": 2, "metric": "discernibility"}, (1, 1), 0, 32.0),
    ],
)
def test_golden_tiny_tables(tmp_path, hierarchies, frame, settings, levels, suppressed, score):
    result = run(tmp_path, pd.DataFrame(frame), hierarchies, **settings)
    assert result.search.levels == levels
    assert result.suppressed_records == suppressed
    assert len(result.released) == len(next(iter(frame.values()))) - suppressed
    assert result.search.score == pytest.approx(score, abs=1e-12)


def random_hierarchy(rng, leaves: int, fanouts: list[int]) -> str:
    """A random tree over ``leaves`` values: each level groups labels of the previous one."""
    rows = [[f"v{i}"] for i in range(leaves)]
    labels = [f"v{i}" for i in range(leaves)]
    for level, fanout in enumerate(fanouts, start=1):
        parents = {label: f"L{level}g{rng.integers(0, fanout)}" for label in labels}
        for row in rows:
            row.append(parents[row[-1]])
        labels = sorted(set(parents.values()))
    for row in rows:
        row.append("*")
    return "".join(";".join(row) + "\n" for row in rows)


@pytest.mark.parametrize(
    "seed, k, suppression, l, variant",
    [
        (1, 2, 0.0, None, "distinct"),  # plain k-anonymity, no suppression
        (2, 3, 0.05, None, "distinct"),  # k-anonymity with a small budget
        (3, 4, 0.2, None, "distinct"),  # a large budget: many nodes pass, scores must be compared
        (4, 2, 0.1, 2, "distinct"),  # distinct l-diversity with suppression (monotonic pruning)
        (5, 2, 0.1, 2, "entropy"),  # entropy l-diversity: not monotonic with suppression, no pruning
        (6, 2, 0.0, 2, "entropy"),  # entropy l-diversity without suppression: monotonic
    ],
)
def test_search_matches_exhaustive_enumeration(tmp_path, oracle, seed, k, suppression, l, variant):
    rng = np.random.default_rng(seed)
    texts = {"a": random_hierarchy(rng, 6, [3, 2]), "b": random_hierarchy(rng, 5, [2]),
             "c": random_hierarchy(rng, 4, [2])}
    frame = pd.DataFrame({
        "a": [f"v{i}" for i in rng.integers(0, 6, 60)],
        "b": [f"v{i}" for i in rng.integers(0, 5, 60)],
        "c": [f"v{i}" for i in rng.integers(0, 4, 60)],
        "s": [f"s{i}" for i in rng.integers(0, 3, 60)],
    })
    extra = {"sensitive": "s", "l": l, "l_variant": variant} if l else {}
    result = run(tmp_path, frame, texts, k=k, suppression=suppression, **extra)

    hierarchies = {c: oracle.read_arx_hierarchy(tmp_path / f"{c}.csv") for c in texts}
    best, best_nodes = oracle.brute_force_optimum(frame, hierarchies, k, suppression, l=l, sensitive="s",
                                                  entropy=variant == "entropy")
    assert result.search.score == pytest.approx(best, abs=1e-9)
    assert result.search.levels in best_nodes
    released_score = oracle.loss_score(result.released, len(frame), hierarchies,
                                       dict(zip(texts, result.search.levels)))
    assert released_score == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize(
    "seed, k, suppression, weights, bounds, metric",
    [
        (11, 3, 0.0, {"a": 4.0}, {}, "loss"),  # a heavy QI is kept finer than with equal weights
        (12, 3, 0.05, {"a": 0.5, "b": 3.0}, {}, "loss"),  # weights and a suppression budget
        (13, 2, 0.0, {"c": 0.0}, {}, "loss"),  # a zero weight: c may be generalized for free
        (14, 3, 0.1, {"b": 2.0}, {}, "granularity"),  # ARX's weighted arithmetic mean
        (15, 3, 0.0, {}, {"a": (0, 2), "c": (1, 2)}, "loss"),  # min/max levels restrict the lattice
        (16, 4, 0.05, {"a": 3.0}, {"a": (0, 1)}, "loss"),  # both together
    ],
)
def test_weighted_search_matches_exhaustive_enumeration(tmp_path, oracle, seed, k, suppression, weights, bounds,
                                                        metric):
    rng = np.random.default_rng(seed)
    texts = {"a": random_hierarchy(rng, 6, [3, 2]), "b": random_hierarchy(rng, 5, [2]),
             "c": random_hierarchy(rng, 4, [2])}
    frame = pd.DataFrame({c: [f"v{i}" for i in rng.integers(0, n, 80)] for c, n in (("a", 6), ("b", 5), ("c", 4))})
    result = run(tmp_path, frame, texts, k=k, suppression=suppression, metric=metric,
                 weights=tuple(weights.items()), level_bounds=tuple((c, lo, hi) for c, (lo, hi) in bounds.items()))

    hierarchies = {c: oracle.read_arx_hierarchy(tmp_path / f"{c}.csv") for c in texts}
    aggregate = "geometric" if metric == "loss" else "arithmetic"
    best, best_nodes = oracle.brute_force_optimum(frame, hierarchies, k, suppression, weights=weights,
                                                  bounds=bounds, aggregate=aggregate)
    assert result.search.score == pytest.approx(best, abs=1e-9)
    assert result.search.levels in best_nodes
    for column, (low, high) in bounds.items():
        assert low <= result.search.levels[list(texts).index(column)] <= high


def test_a_weight_moves_the_optimum(tmp_path):
    """The same data and k: weighting color keeps it exact and generalizes size instead."""
    frame = pd.DataFrame({"color": [r[0] for r in EIGHT], "size": [r[1] for r in EIGHT]})
    plain = run(tmp_path, frame, {"color": COLOR, "size": SIZE}, k=2)
    weighted = run(tmp_path, frame, {"color": COLOR, "size": SIZE}, k=2, weights=(("color", 6.0),))
    assert plain.search.levels == (2, 0)  # color thrown away (see the golden table above)
    assert weighted.search.levels[0] < 2  # color kept at warm/cold
    capped = run(tmp_path, frame, {"color": COLOR, "size": SIZE}, k=2, level_bounds=(("color", None, 1),))
    assert capped.search.levels[0] <= 1


def test_fully_generalized_attribute_is_warned(tmp_path):
    frame = pd.DataFrame({"color": COLORS_ONLY})
    result = run(tmp_path, frame, {"color": COLOR}, k=8)
    assert result.search.levels == (2,)
    assert any("color is fully generalized" in w for w in result.warnings)
