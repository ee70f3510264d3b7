"""Privacy models (k-anonymity, l-diversity, t-closeness) shared by the batch and streaming stages."""

from pipeline.privacy.base import EquivalenceClasses, PrivacyModel, PrivacyModelError
from pipeline.privacy.k_anonymity import KAnonymity
from pipeline.privacy.l_diversity import DistinctLDiversity, EntropyLDiversity
from pipeline.privacy.registry import MODELS, create_model
from pipeline.privacy.t_closeness import EqualDistanceTCloseness

__all__ = [
    "MODELS",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "EqualDistanceTCloseness",
    "EquivalenceClasses",
    "KAnonymity",
    "PrivacyModel",
    "PrivacyModelError",
    "create_model",
]
