"""The privacy-model contract: a per-class yes/no test plus the properties a search prunes with."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class PrivacyModelError(ValueError):
    """A privacy model was configured with invalid parameters."""


@dataclass(frozen=True)
class EquivalenceClasses:
    """A batch of equivalence classes, described by what privacy models look at.

    ``sizes[c]`` is the number of records in class ``c``. When a sensitive attribute is
    configured, its per-class histogram is given sparsely: entry ``i`` says class
    ``hist_class[i]`` holds ``hist_count[i]`` records with sensitive code ``hist_value[i]``
    (each (class, value) pair at most once, counts > 0). ``global_frequencies[v]`` is the
    share of value ``v`` in the whole table (the reference distribution of t-closeness).
    ``subjects[c]``, when given, is the number of distinct people in class ``c`` (records of
    one person count once); without it every record is its own person.
    """

    sizes: np.ndarray
    hist_class: np.ndarray | None = None
    hist_value: np.ndarray | None = None
    hist_count: np.ndarray | None = None
    global_frequencies: np.ndarray | None = None
    subjects: np.ndarray | None = None

    @property
    def people(self) -> np.ndarray:
        """Distinct people per class: ``subjects`` if known, else one person per record."""
        return self.sizes if self.subjects is None else self.subjects

    @property
    def count(self) -> int:
        """Number of classes in the batch."""
        return len(self.sizes)

    def require_sensitive(self, model: str) -> None:
        """Fail clearly if a model that needs the sensitive histogram did not get it."""
        if self.hist_class is None:
            raise PrivacyModelError(f"{model} needs a sensitive attribute")

    def distinct_sensitive(self) -> np.ndarray:
        """Number of distinct sensitive values in each class."""
        return np.bincount(self.hist_class, minlength=self.count)


class PrivacyModel(ABC):
    """A syntactic privacy model, tested one equivalence class at a time.

    As in ARX's ``criteria`` package (Prasser et al. 2014, "ARX - A comprehensive tool for
    anonymizing biomedical data"), the model only answers "is this class anonymous?" and
    declares the properties a lattice search may use to prune:

    * ``monotonic_with_generalization``: if a transformation satisfies the model with no
      record suppressed, so does every coarser one (needed to prune without suppression);
    * ``monotonic_with_suppression``: if a class is merged into a coarser class that fails,
      every part of it failed too, so the set of suppressed records can only shrink when
      generalizing (needed to prune when a suppression limit is in force);
    * ``minimal_class_size``: no class smaller than this can pass;
    * ``needs_sensitive``: the test reads the sensitive-attribute histogram.

    ``class_passes`` is the per-class test, evaluated for a batch of classes at once so the
    search stays vectorized; element ``c`` depends on class ``c`` only.
    """

    name: str = ""
    monotonic_with_generalization: bool = True
    monotonic_with_suppression: bool = True
    needs_sensitive: bool = False

    @property
    @abstractmethod
    def minimal_class_size(self) -> int:
        """The smallest class size that can satisfy the model."""

    @abstractmethod
    def class_passes(self, classes: EquivalenceClasses) -> np.ndarray:
        """Boolean array: does each class satisfy the model?"""

    @abstractmethod
    def describe(self) -> dict:
        """Name and parameters, for reports."""

    def is_monotonic(self, suppression_limit: float) -> bool:
        """May the search prune with this model under the given suppression limit?"""
        return self.monotonic_with_suppression if suppression_limit > 0 else self.monotonic_with_generalization
