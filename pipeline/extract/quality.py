"""Quality models scoring a transformation: ARX's Loss (default), granularity, discernibility."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from pipeline.extract.lattice import EncodedTable


@dataclass(frozen=True)
class NodeEvaluation:
    """A transformation's equivalence classes and which of them pass the privacy models."""

    levels: tuple[int, ...]
    class_codes: np.ndarray  # (classes, dims) label codes at ``levels``
    sizes: np.ndarray  # (classes,)
    passes: np.ndarray  # (classes,) bool; failing classes are suppressed
    people: np.ndarray | None = None  # (classes,) distinct people, None when every record is a person

    @property
    def suppressed(self) -> int:
        return int(self.sizes[~self.passes].sum())


class QualityMetric(ABC):
    """Information loss of a transformation; lower is better.

    ``lower_bounds`` must never exceed ``score`` and must not decrease from a node to any
    coarser node: the search visits nodes in bound order and stops once the next bound
    cannot beat the best score (branch and bound, as ARX does with its metric bounds).
    """

    name: str = ""
    # True when a node with no suppressed record scores exactly its lower bound.
    bound_is_exact_without_suppression: bool = False

    def prepare(self, table: EncodedTable) -> None:
        """Precompute what the bounds and scores need from the encoded table."""
        self.table = table

    @abstractmethod
    def lower_bounds(self, nodes: np.ndarray) -> np.ndarray:
        """A lower bound of the score of each node, computable without grouping."""

    @abstractmethod
    def score(self, evaluation: NodeEvaluation) -> float:
        """The score of an evaluated node."""

    def successor_bound(self, evaluation: NodeEvaluation) -> float | None:
        """A lower bound for this node and all coarser ones, learned by evaluating it."""
        return None

    def per_qi(self, evaluation: NodeEvaluation) -> dict[str, float] | None:
        """Per-QI loss for reports, where the metric has one."""
        return None


class _CellLossMetric(QualityMetric):
    """Shared part of Loss and granularity: per-QI mean normalized cell loss.

    Iyengar 2002, "Transforming data to satisfy privacy constraints" (KDD): a cell generalized
    to a label covering c of the hierarchy's |H| leaves loses (c - 1) / (|H| - 1); a suppressed
    cell loses 1. ARX ``MetricMDNMLoss`` computes the same quantity per QI as
    (sum_rows c/|H| - N/|H|) / (N - N/|H|), with suppressed rows counted as 1.
    """

    bound_is_exact_without_suppression = True

    def prepare(self, table: EncodedTable) -> None:
        super().prepare(table)
        n = table.n_records
        self._domain = np.array([len(d.hierarchy.leaves) for d in table.dimensions], dtype=float)
        # Sum over records of the leaf share at each level, per QI: the loss with nothing suppressed.
        self._generalized_sums = []
        for dim, leaves in zip(table.dimensions, table.row_codes.T):
            frequency = np.bincount(leaves, minlength=len(dim.hierarchy.leaves))
            self._generalized_sums.append(np.array([
                frequency @ dim.shares[level][dim.hierarchy.level_codes(level)] for level in range(dim.height + 1)
            ]))
        self._n = float(n)
        self._level_loss = [self._normalize(sums, i) for i, sums in enumerate(self._generalized_sums)]
        weights = np.array([d.weight for d in table.dimensions], dtype=float)
        # ARX: all weights zero means "no preference", i.e. equal weights.
        self.weights = weights if weights.sum() > 0 else np.ones_like(weights)

    def _normalize(self, share_sum, dimension: int):
        minimum = self._n / self._domain[dimension]
        if self._n - minimum <= 0:  # one-leaf hierarchy: nothing can be lost
            return np.zeros_like(np.asarray(share_sum, dtype=float))
        return np.maximum((np.asarray(share_sum, dtype=float) - minimum) / (self._n - minimum), 0.0)

    def qi_losses(self, evaluation: NodeEvaluation) -> np.ndarray:
        """Per-QI mean cell loss, suppressed cells counting 1."""
        failing = ~evaluation.passes
        losses = []
        for i, (dim, level) in enumerate(zip(self.table.dimensions, evaluation.levels)):
            share = dim.shares[level][evaluation.class_codes[failing, i]]
            share_sum = self._generalized_sums[i][level] - evaluation.sizes[failing] @ share + evaluation.suppressed
            losses.append(float(self._normalize(share_sum, i)))
        return np.array(losses)

    def level_losses(self, nodes: np.ndarray) -> np.ndarray:
        """Per-QI loss of each node if nothing were suppressed, shape (nodes, dims)."""
        return np.column_stack([self._level_loss[i][nodes[:, i]] for i in range(nodes.shape[1])])

    @abstractmethod
    def aggregate(self, losses: np.ndarray) -> np.ndarray:
        """Combine per-QI losses (last axis) into one score."""

    def lower_bounds(self, nodes: np.ndarray) -> np.ndarray:
        # Suppressed cells cost 1 >= any share, and shares grow with the level: a valid, monotone bound.
        return self.aggregate(self.level_losses(nodes))

    def score(self, evaluation: NodeEvaluation) -> float:
        return float(self.aggregate(self.qi_losses(evaluation)))

    def per_qi(self, evaluation: NodeEvaluation) -> dict[str, float]:
        return {d.column: float(v) for d, v in zip(self.table.dimensions, self.qi_losses(evaluation))}


class LossMetric(_CellLossMetric):
    """ARX's default "Loss": weighted geometric mean over QIs of (1 + mean cell loss), minus 1.

    ARX ``MetricMDNMLoss`` with ``AggregateFunction.GEOMETRIC_MEAN`` and the default
    generalization/suppression factor 0.5 (both weigh 1); with equal weights the aggregate is
    ARX's ``ILMultiDimensionalGeometricMean``, prod(v_i + 1)^(1/n) - 1, and scores match ARX.
    With attribute weights w_i this is prod((v_i + 1)^(w_i / sum w)) - 1. ARX 3.9 instead
    multiplies each factor by its max-normalized weight inside the n-th root,
    prod(((v_i + 1) w_i)^(1/n)) - 1, which scales every node's score by the same constant
    prod(w_i)^(1/n): there the weights cannot change which node is optimal, here they do.
    Cell loss after Iyengar 2002, "Transforming data to satisfy privacy constraints".
    """

    name = "loss"

    def aggregate(self, losses: np.ndarray) -> np.ndarray:
        share = self.weights / self.weights.sum()
        return np.exp(np.log1p(losses) @ share) - 1.0


class GranularityMetric(_CellLossMetric):
    """Granularity: weighted arithmetic mean over QIs of the mean cell loss (Iyengar 2002).

    As ARX's ``ILMultiDimensionalArithmeticMean``: sum_i (v_i / n) * w_i with weights divided
    by the largest weight (equal weights give the plain mean).
    """

    name = "granularity"

    def aggregate(self, losses: np.ndarray) -> np.ndarray:
        return losses @ (self.weights / self.weights.max()) / losses.shape[-1]


class DiscernibilityMetric(QualityMetric):
    """Discernibility: sum of squared class sizes, each suppressed record costing N.

    Bayardo & Agrawal 2005, "Data privacy through optimal k-anonymization" (ICDE).
    """

    name = "discernibility"

    def lower_bounds(self, nodes: np.ndarray) -> np.ndarray:
        # Every record sits in a class of size >= 1; anything sharper needs the classes.
        return np.full(len(nodes), float(self.table.n_records))

    def score(self, evaluation: NodeEvaluation) -> float:
        kept = evaluation.sizes[evaluation.passes].astype(float)
        return float(kept @ kept + evaluation.suppressed * float(self.table.n_records))

    def successor_bound(self, evaluation: NodeEvaluation) -> float:
        # Coarser classes are unions of these, and a suppressed record costs N >= its class size,
        # so the sum of squares with nothing suppressed bounds this node and every coarser one.
        sizes = evaluation.sizes.astype(float)
        return float(sizes @ sizes)


METRICS: dict[str, type[QualityMetric]] = {m.name: m for m in (LossMetric, GranularityMetric, DiscernibilityMetric)}
