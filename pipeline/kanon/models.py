"""The privacy models of the streaming release, from the policy's kanon section, and its column check at load."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from pipeline.policy.model import KAnonSection
from pipeline.privacy import EquivalenceClasses, KAnonymity, PrivacyModel, create_model

_BUILT: dict[int, tuple[KAnonSection, list[PrivacyModel]]] = {}


def privacy_models(config: KAnonSection) -> list[PrivacyModel]:
    """k-anonymity over people, then the policy's extra models (e.g. l-diversity of `sensitive_column`).

    Built once per policy object (parameters were validated when the policy loaded, by `check_kanon`).
    """
    cached = _BUILT.get(id(config))
    if cached is None or cached[0] is not config:
        models = [KAnonymity(config.k)] + [create_model(m.name, **m.params) for m in config.models]
        cached = _BUILT[id(config)] = (config, models)
    return cached[1]


def sensitive_histogram(people: list[set[int]], pairs: list[set[tuple]]) -> EquivalenceClasses:
    """Classes as the privacy models see them: size = distinct people; histogram = people per sensitive value.

    A person holding m distinct sensitive values in a class counts 1/m under each, so every person weighs 1 and
    one person alone cannot make a class look diverse to entropy l-diversity or t-closeness (distinct
    l-diversity only counts values, see docs/kanon.md).
    """
    sizes = np.array([len(p) for p in people], dtype=np.int64)
    if not any(pairs):
        return EquivalenceClasses(sizes=sizes)
    codes: dict[str, int] = {}
    hist_class, hist_value, hist_count = [], [], []
    for c, class_pairs in enumerate(pairs):
        held: dict[int, list[str]] = {}
        for person, value in class_pairs:
            held.setdefault(person, []).append(value)
        weights: dict[str, float] = {}
        for values in held.values():
            for value in values:
                weights[value] = weights.get(value, 0.0) + 1.0 / len(values)
        for value, weight in sorted(weights.items()):
            hist_class.append(c)
            hist_value.append(codes.setdefault(value, len(codes)))
            hist_count.append(weight)
    value_totals = np.bincount(hist_value, weights=hist_count, minlength=len(codes))
    return EquivalenceClasses(sizes=sizes, hist_class=np.array(hist_class, dtype=np.int64),
                              hist_value=np.array(hist_value, dtype=np.int64),
                              hist_count=np.array(hist_count, dtype=float),
                              global_frequencies=value_totals / max(value_totals.sum(), 1e-12))


def check_kanon(config: KAnonSection, output_columns: Iterable[str]) -> None:
    """Every column the release reads exists among the operators' outputs; models build. ValueError otherwise."""
    outputs = set(output_columns)
    named = [("subject_columns", c) for c in config.subject_columns] + [("partition_column", config.partition_column)]
    named += [("quasi_identifiers", q) for q in config.quasi_identifiers]
    named += [("dimensions", d) for d in config.dimensions]
    if config.sensitive_column:
        named.append(("sensitive_column", config.sensitive_column))
    missing = [f"{where}: {column!r}" for where, column in named if column not in outputs]
    if missing:
        raise ValueError(f"kanon names columns no operator produces ({'; '.join(missing)}); "
                         f"operator outputs: {', '.join(sorted(outputs))}")
    try:
        models = [create_model(m.name, **m.params) for m in config.models]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"kanon.models: {exc}") from None
    if any(m.needs_sensitive for m in models) and not config.sensitive_column:
        raise ValueError("kanon.models: a model needs kanon.sensitive_column")
    if config.sensitive_column and config.sensitive_column in (config.partition_column, *config.cell_attributes):
        raise ValueError("kanon.sensitive_column must not be the partition column, a quasi-identifier or a "
                         "dimension (its values would be published in the cell)")
