"""l-diversity of a sensitive attribute: distinct and entropy variants."""

from __future__ import annotations

import numpy as np

from pipeline.privacy.base import EquivalenceClasses, PrivacyModel, PrivacyModelError


def _validated_l(l: float) -> float:
    if not l >= 1:
        raise PrivacyModelError(f"l must be at least 1, got {l}")
    return float(l)


class DistinctLDiversity(PrivacyModel):
    """Distinct l-diversity: each class holds at least l distinct sensitive values.

    Machanavajjhala et al. 2007, "l-diversity: Privacy beyond k-anonymity" (TKDD 1(1)).
    Monotonic with suppression: a merged class that has fewer than l distinct values is made
    of parts that each had fewer than l too (ARX ``DistinctLDiversity`` declares the same).
    """

    name = "distinct-l-diversity"
    needs_sensitive = True

    def __init__(self, l: int):
        self.l = int(_validated_l(l))
        if self.l != l:
            raise PrivacyModelError(f"distinct l-diversity needs an integer l, got {l}")

    @property
    def minimal_class_size(self) -> int:
        return self.l

    def class_passes(self, classes: EquivalenceClasses) -> np.ndarray:
        classes.require_sensitive(self.name)
        return classes.distinct_sensitive() >= self.l

    def describe(self) -> dict:
        return {"model": self.name, "l": self.l}


class EntropyLDiversity(PrivacyModel):
    """Entropy l-diversity: the sensitive values of each class have entropy >= log(l).

    Machanavajjhala et al. 2007, "l-diversity: Privacy beyond k-anonymity" (TKDD 1(1)).
    Entropy is concave, so a union of passing classes passes: monotonic with generalization.
    It is not monotonic with suppression — a failing merged class may contain passing parts,
    so the suppressed set can grow when generalizing (ARX ``EntropyLDiversity`` declares the same).
    """

    name = "entropy-l-diversity"
    needs_sensitive = True
    monotonic_with_suppression = False

    def __init__(self, l: float):
        self.l = _validated_l(l)

    @property
    def minimal_class_size(self) -> int:
        return int(np.ceil(self.l))

    def class_passes(self, classes: EquivalenceClasses) -> np.ndarray:
        classes.require_sensitive(self.name)
        counts = classes.hist_count.astype(float)
        sizes = classes.sizes.astype(float)
        # H = log(n) - sum(c log c) / n, with natural logs on both sides of the comparison.
        weighted = np.bincount(classes.hist_class, weights=counts * np.log(counts), minlength=classes.count)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = np.log(sizes) - weighted / sizes
        # A tolerance keeps a class with exactly l equally frequent values passing despite rounding.
        return entropy >= np.log(self.l) - 1e-12

    def describe(self) -> dict:
        return {"model": self.name, "l": self.l}
