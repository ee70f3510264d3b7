"""t-closeness with the equal-distance earth mover's distance (categorical sensitive values)."""

from __future__ import annotations

import numpy as np

from pipeline.privacy.base import EquivalenceClasses, PrivacyModel, PrivacyModelError


class EqualDistanceTCloseness(PrivacyModel):
    """t-closeness: each class's sensitive distribution is within EMD t of the whole table's.

    Li, Li & Venkatasubramanian 2007, "t-Closeness: Privacy beyond k-anonymity and
    l-diversity" (ICDE). With equal ground distance, EMD(P, Q) = 1/2 * sum_i |p_i - q_i|.
    Li et al. show the generalization property (a union of t-close classes is t-close), so the
    model is monotonic with generalization; like ARX it is not declared monotonic with
    suppression.
    """

    name = "t-closeness"
    needs_sensitive = True
    monotonic_with_suppression = False

    def __init__(self, t: float):
        if not 0 <= t <= 1:
            raise PrivacyModelError(f"t must be within [0, 1], got {t}")
        self.t = float(t)

    @property
    def minimal_class_size(self) -> int:
        return 1

    def class_passes(self, classes: EquivalenceClasses) -> np.ndarray:
        classes.require_sensitive(self.name)
        q = classes.global_frequencies[classes.hist_value]
        p = classes.hist_count / classes.sizes[classes.hist_class]
        # Values absent from a class contribute their whole q_i, so
        # 2 * EMD = 1 + sum over present values of (|p_i - q_i| - q_i).
        present = np.bincount(classes.hist_class, weights=np.abs(p - q) - q, minlength=classes.count)
        distance = (1.0 + present) / 2.0
        return distance <= self.t + 1e-12

    def describe(self) -> dict:
        return {"model": self.name, "t": self.t, "distance": "equal"}
