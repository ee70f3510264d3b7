"""Explicit registry of privacy models, by name."""

from __future__ import annotations

from pipeline.privacy.base import PrivacyModel, PrivacyModelError
from pipeline.privacy.k_anonymity import KAnonymity
from pipeline.privacy.l_diversity import DistinctLDiversity, EntropyLDiversity
from pipeline.privacy.t_closeness import EqualDistanceTCloseness

MODELS: dict[str, type[PrivacyModel]] = {
    model.name: model for model in (KAnonymity, DistinctLDiversity, EntropyLDiversity, EqualDistanceTCloseness)
}


def create_model(name: str, **params) -> PrivacyModel:
    """Instantiate a registered model; parameters are validated by its constructor."""
    try:
        model = MODELS[name]
    except KeyError:
        raise PrivacyModelError(f"unknown privacy model {name!r}; known: {', '.join(MODELS)}") from None
    return model(**params)
