"""Tests for the privacy models: per-class verdicts, declared properties and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.privacy import (MODELS, DistinctLDiversity, EntropyLDiversity, EqualDistanceTCloseness,
                              EquivalenceClasses, KAnonymity, PrivacyModelError, create_model)


def classes_from_lists(groups: list[list[str]], population: list[str] | None = None) -> EquivalenceClasses:
    """Build the sparse histogram input from plain lists of sensitive values, one list per class."""
    values = sorted({v for g in groups for v in g} | set(population or []))
    code = {v: i for i, v in enumerate(values)}
    hist_class, hist_value, hist_count = [], [], []
    for c, group in enumerate(groups):
        for value in sorted(set(group)):
            hist_class.append(c)
            hist_value.append(code[value])
            hist_count.append(group.count(value))
    everyone = population if population is not None else [v for g in groups for v in g]
    frequencies = np.array([everyone.count(v) / len(everyone) for v in values])
    return EquivalenceClasses(np.array([len(g) for g in groups]), np.array(hist_class), np.array(hist_value),
                              np.array(hist_count), frequencies)


@pytest.mark.parametrize(
    "model, groups, expected",
    [
        # k = 3: sizes 2, 3, 4
        (KAnonymity(3), [["a"] * 2, ["a"] * 3, ["a"] * 4], [False, True, True]),
        # distinct 2: one value; two values; three values
        (DistinctLDiversity(2), [["a", "a"], ["a", "b"], ["a", "b", "c"]], [False, True, True]),
        # entropy 2: skewed (a,a,a,b) has entropy 0.56 < log 2; uniform pair has exactly log 2
        (EntropyLDiversity(2), [["a", "a", "a", "b"], ["a", "b"], ["a", "b", "c"]], [False, True, True]),
        # entropy 1.5 accepts the skewed class: exp(0.562) = 1.75 >= 1.5
        (EntropyLDiversity(1.5), [["a", "a", "a", "b"]], [True]),
        # t = 0.25 against the population (a: 1/2, b: 1/2): (a,a) is 0.5 away, (a,b) 0, (a,a,a,b) 0.25
        (EqualDistanceTCloseness(0.25), [["a", "a"], ["a", "b"], ["a", "a", "a", "b"]], [False, True, True]),
    ],
)
def test_models_judge_each_class(model, groups, expected):
    population = ["a", "b"] if isinstance(model, EqualDistanceTCloseness) else None
    verdicts = model.class_passes(classes_from_lists(groups, population))
    assert verdicts.tolist() == expected


def test_t_closeness_counts_values_missing_from_a_class():
    # population a:1/3 b:1/3 c:1/3; class (a,a) is 1/2 * (2/3 + 1/3 + 1/3) = 2/3 away
    classes = classes_from_lists([["a", "a"]], population=["a", "b", "c"])
    assert EqualDistanceTCloseness(0.67).class_passes(classes).tolist() == [True]
    assert EqualDistanceTCloseness(0.66).class_passes(classes).tolist() == [False]


@pytest.mark.parametrize(
    "model, monotonic_with_suppression, minimal_class_size",
    [
        (KAnonymity(4), True, 4),  # Flash: k-anonymity prunes with suppression too
        (DistinctLDiversity(3), True, 3),  # a failing union holds only failing parts
        (EntropyLDiversity(2.5), False, 3),  # a failing union may hold passing parts
        (EqualDistanceTCloseness(0.2), False, 1),  # as ARX declares it
    ],
)
def test_declared_pruning_properties(model, monotonic_with_suppression, minimal_class_size):
    assert model.monotonic_with_suppression is monotonic_with_suppression
    assert model.monotonic_with_generalization is True
    assert model.minimal_class_size == minimal_class_size
    assert model.is_monotonic(0.0) is True
    assert model.is_monotonic(0.05) is monotonic_with_suppression


@pytest.mark.parametrize("model", [KAnonymity(3), DistinctLDiversity(2), EntropyLDiversity(2),
                                   EqualDistanceTCloseness(0.3)])
def test_generalization_property_holds_on_random_merges(model):
    """Merging passing classes never fails (what monotonic_with_generalization promises)."""
    rng = np.random.default_rng(7)
    population = list(rng.choice(list("abcd"), size=400, p=[0.4, 0.3, 0.2, 0.1]))
    for _ in range(200):
        groups = [list(rng.choice(list("abcd"), size=rng.integers(1, 8))) for _ in range(3)]
        verdicts = model.class_passes(classes_from_lists(groups, population))
        merged = model.class_passes(classes_from_lists([sum(groups, [])], population))
        if verdicts.all():
            assert merged.all()


@pytest.mark.parametrize("model", [KAnonymity(3), DistinctLDiversity(2)])
def test_suppression_monotonicity_on_random_merges(model):
    """For models declared monotonic with suppression, a failing merge holds only failing parts."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        groups = [list(rng.choice(list("abc"), size=rng.integers(1, 4))) for _ in range(2)]
        verdicts = model.class_passes(classes_from_lists(groups))
        merged = model.class_passes(classes_from_lists([sum(groups, [])]))
        if not merged.all():
            assert not verdicts.any()


def test_entropy_l_is_not_monotonic_with_suppression():
    # (a,b) passes entropy-2 (entropy = log 2), six a's fail; merged (7 a, 1 b) has entropy 0.38 < log 2,
    # so suppressing the merged class would suppress the passing part too.
    parts = [["a", "b"], ["a"] * 6]
    model = EntropyLDiversity(2)
    assert model.class_passes(classes_from_lists(parts)).tolist() == [True, False]
    assert model.class_passes(classes_from_lists([sum(parts, [])])).tolist() == [False]


def test_sensitive_models_need_a_histogram():
    with pytest.raises(PrivacyModelError, match="needs a sensitive attribute"):
        DistinctLDiversity(2).class_passes(EquivalenceClasses(np.array([3])))


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("k-anonymity", {"k": 0}, "positive integer"),  # k below 1
        ("k-anonymity", {"k": 2.5}, "positive integer"),  # fractional k
        ("distinct-l-diversity", {"l": 2.5}, "integer l"),  # distinct l must be whole
        ("entropy-l-diversity", {"l": 0.5}, "at least 1"),  # l below 1
        ("t-closeness", {"t": 1.5}, r"\[0, 1\]"),  # t out of range
        ("delta-presence", {}, "unknown privacy model"),  # not registered
    ],
)
def test_parameters_are_validated_on_creation(name, params, message):
    with pytest.raises(PrivacyModelError, match=message):
        create_model(name, **params)


def test_registry_is_explicit_and_named():
    assert list(MODELS) == ["k-anonymity", "distinct-l-diversity", "entropy-l-diversity", "t-closeness"]
    assert create_model("entropy-l-diversity", l=3).describe() == {"model": "entropy-l-diversity", "l": 3.0}
    assert math.isclose(create_model("t-closeness", t=0.2).t, 0.2)
