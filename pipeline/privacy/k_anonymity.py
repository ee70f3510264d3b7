"""k-anonymity: every equivalence class holds at least k distinct people."""

from __future__ import annotations

import numpy as np

from pipeline.privacy.base import EquivalenceClasses, PrivacyModel, PrivacyModelError


class KAnonymity(PrivacyModel):
    """k-anonymity (Sweeney 2002, "k-anonymity: a model for protecting privacy").

    Counts people (``EquivalenceClasses.people``), not records: five events of one person are
    one person. Monotonic with generalization and with suppression: a coarser class is a union
    of finer classes and holds at least as many people as each part, so if it has fewer than k,
    every part had too (Kohlmayer et al. 2012, "Flash: efficient, stable and optimal k-anonymity").
    """

    name = "k-anonymity"

    def __init__(self, k: int):
        if int(k) != k or k < 1:
            raise PrivacyModelError(f"k must be a positive integer, got {k}")
        self.k = int(k)

    @property
    def minimal_class_size(self) -> int:
        return self.k

    def class_passes(self, classes: EquivalenceClasses) -> np.ndarray:
        return classes.people >= self.k

    def describe(self) -> dict:
        return {"model": self.name, "k": self.k}
