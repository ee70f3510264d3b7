"""Optimal full-domain generalization: best-first lattice search with monotonicity and bound pruning."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from pipeline.extract.lattice import ClassTable, EncodedTable, combine_codes, group_keys
from pipeline.extract.progress import SILENT, Progress
from pipeline.extract.quality import NodeEvaluation, QualityMetric
from pipeline.privacy.base import EquivalenceClasses, PrivacyModel

_CACHED_TABLES = 48  # roll-up sources kept in memory (the oldest are dropped first)
MAX_LATTICE_NODES = 2_000_000  # beyond this, per-node bookkeeping arrays get too large


class SearchError(RuntimeError):
    """The search cannot produce a transformation."""


class NoSolutionError(SearchError):
    """No transformation satisfies the privacy models within the suppression limit."""


class LatticeTooLargeError(SearchError):
    """The hierarchies span more transformations than the search handles."""


@dataclass(frozen=True)
class SearchResult:
    """The optimal transformation and how much of the lattice the search had to touch."""

    evaluation: NodeEvaluation
    score: float
    lattice_size: int
    evaluated: int
    pruned_by_monotonicity: int
    pruned_by_bound: int
    seconds: float

    @property
    def levels(self) -> tuple[int, ...]:
        return self.evaluation.levels


def max_suppressed_records(limit: float, n_records: int) -> int:
    """Records that may be suppressed: floor(limit * N), as ARX computes its outlier budget."""
    return int(math.floor(limit * n_records + 1e-9))


def class_passes(models: list[PrivacyModel], classes: EquivalenceClasses) -> np.ndarray:
    """A class is kept only if every privacy model accepts it."""
    passes = np.ones(classes.count, dtype=bool)
    for model in models:
        passes &= model.class_passes(classes)
    return passes


def evaluate_table(table: EncodedTable, class_table: ClassTable, models: list[PrivacyModel]) -> NodeEvaluation:
    """Group a (rolled-up) class table into equivalence classes and test them."""
    class_of_row, class_codes, sizes = table.classes(class_table)
    people = table.people(class_of_row, class_table.subjects, len(sizes))
    hist_class = hist_value = hist_count = None
    if class_table.sensitive is not None:
        hist_class, hist_value, hist_count = class_of_row, class_table.sensitive, class_table.counts
        if class_table.subjects is not None:
            # Rows also differ by person: merge them so each (class, value) pair appears once.
            key, span = combine_codes([class_of_row, class_table.sensitive], [len(sizes), table.sensitive_cardinality])
            pair, representative = group_keys(key, span)
            hist_class, hist_value = class_of_row[representative], class_table.sensitive[representative]
            hist_count = np.bincount(pair, weights=class_table.counts).astype(np.int64)
    classes = EquivalenceClasses(sizes, hist_class, hist_value, hist_count, table.global_sensitive_frequencies,
                                 subjects=people)
    return NodeEvaluation(class_table.levels, class_codes, sizes, class_passes(models, classes), people)


def evaluate_records(table: EncodedTable, levels: tuple[int, ...], models: list[PrivacyModel]):
    """Evaluate one node straight from the records: (class of each record, NodeEvaluation)."""
    record_class, class_codes, sizes = table.record_classes(levels)
    hist_class = hist_value = hist_count = None
    if table.row_sensitive is not None:
        key, span = combine_codes([record_class, table.row_sensitive], [len(sizes), table.sensitive_cardinality])
        pair_of_record, representative = group_keys(key, span)
        hist_class = record_class[representative]
        hist_value = table.row_sensitive[representative]
        hist_count = np.bincount(pair_of_record)
    people = table.people(record_class, table.row_subjects, len(sizes))
    classes = EquivalenceClasses(sizes, hist_class, hist_value, hist_count, table.global_sensitive_frequencies,
                                 subjects=people)
    return record_class, NodeEvaluation(tuple(levels), class_codes, sizes, class_passes(models, classes), people)


class _RollUpCache:
    """Keeps recent class tables so a node is rolled up from its smallest evaluated predecessor."""

    def __init__(self, base: ClassTable):
        self.base = base
        self.tables: OrderedDict[tuple[int, ...], ClassTable] = OrderedDict()

    def source_for(self, node: np.ndarray) -> ClassTable:
        best = self.base
        for levels, table in self.tables.items():
            if len(table.counts) < len(best.counts) and all(a <= b for a, b in zip(levels, node)):
                best = table
        return best

    def add(self, table: ClassTable) -> None:
        self.tables[table.levels] = table
        if len(self.tables) > _CACHED_TABLES:
            self.tables.popitem(last=False)


def find_optimum(table: EncodedTable, models: list[PrivacyModel], metric: QualityMetric,
                 suppression_limit: float, progress: Progress = SILENT) -> SearchResult:
    """Return the transformation with the lowest score that satisfies every model.

    Nodes are visited in order of the metric's lower bound (ties: lower lattice height first,
    then lexicographic), and the search stops as soon as the next bound cannot beat the best
    score found (branch and bound). When every model is monotonic under the suppression limit
    (``PrivacyModel.is_monotonic``), the anonymous nodes form an up-set, as exploited by Flash
    (Kohlmayer et al. 2012) and OLA (El Emam et al. 2009): a failing node proves all its
    predecessors fail and a passing node proves all its successors pass. With a suppression
    limit this holds for such models because a coarser class that fails is a union of finer
    classes that all failed, so the records suppressed at a coarser node are a subset of those
    suppressed at a finer one. After a failure the search climbs through failing successors
    (as Flash's paths do) so that one large down-set is pruned at once.
    """
    size = int(np.prod(table.max_levels - table.min_levels + 1))
    if size > MAX_LATTICE_NODES:
        raise LatticeTooLargeError(
            f"the generalization lattice has {size} nodes (limit {MAX_LATTICE_NODES}); "
            "use fewer quasi-identifiers or hierarchies with fewer levels"
        )
    return _Search(table, models, metric, suppression_limit, progress).run()


class _Search:
    """State of one lattice search; see ``find_optimum``."""

    UNKNOWN, FAILS, PASSES = 0, 1, 2

    def __init__(self, table, models, metric, suppression_limit, progress):
        self.started = time.perf_counter()
        self.table, self.models, self.metric = table, models, metric
        metric.prepare(table)
        self.nodes = table.all_nodes()
        self.bounds = metric.lower_bounds(self.nodes)
        self.budget = max_suppressed_records(suppression_limit, table.n_records)
        self.monotonic = all(model.is_monotonic(suppression_limit) for model in models)
        # With no suppression allowed, a passing node suppresses nothing, so its score is its bound.
        self.bound_is_score_when_passing = self.budget == 0 and metric.bound_is_exact_without_suppression
        self.status = np.zeros(len(self.nodes), dtype=np.int8)
        self.scored = np.zeros(len(self.nodes), dtype=bool)
        self.index_of = {tuple(node): i for i, node in enumerate(self.nodes.tolist())}
        self.heights = table.max_levels  # the search climbs no higher than each QI's maximum level
        self.learned_nodes: list[np.ndarray] = []
        self.learned_bounds: list[float] = []
        self.cache = _RollUpCache(table.base)
        self.best: NodeEvaluation | None = None
        self.best_index = -1
        self.best_score = math.inf
        self.evaluated = self.pruned_monotonic = self.pruned_bound = 0
        self.progress = progress

    def run(self) -> SearchResult:
        order = np.lexsort(tuple(self.nodes[:, ::-1].T) + (self.nodes.sum(axis=1), self.bounds))
        with self.progress.nodes(len(order)) as settled:
            for position, index in enumerate(order):
                if self.bounds[index] >= self.best_score:
                    self.pruned_bound += len(order) - position
                    settled(len(order) - position)
                    break
                settled(1)
                self._resolve(int(index))
        if self.best is None:
            raise NoSolutionError(
                "no generalization satisfies the privacy models within the suppression limit "
                f"({self.budget} of {self.table.n_records} records); raise --suppression or relax k/l/t"
            )
        if self.best.class_codes is None:  # found through its bound alone: group it now
            self.best = self._evaluate(self.best_index)
        return SearchResult(self.best, self.best_score, len(self.nodes), self.evaluated,
                            self.pruned_monotonic, self.pruned_bound, time.perf_counter() - self.started)

    def _resolve(self, index: int) -> None:
        """Settle one node in bound order: skip, score from its bound, or evaluate it."""
        if self.status[index] == self.FAILS:
            self.pruned_monotonic += 1
            return
        if self.status[index] == self.PASSES and self.bound_is_score_when_passing:
            self._offer(index, float(self.bounds[index]), None)
            return
        if self.learned_nodes and _bounded_out(self.nodes[index], self.learned_nodes, self.learned_bounds,
                                               self.best_score):
            self.pruned_bound += 1
            return
        if not self._check(index) and self.monotonic:
            self._climb(index)

    def _check(self, index: int) -> bool:
        """Evaluate a node, record what it proves about others, and offer its score."""
        evaluation = self._evaluate(index)
        learned = self.metric.successor_bound(evaluation)
        if learned is not None:
            self.learned_nodes.append(self.nodes[index])
            self.learned_bounds.append(learned)
        node = self.nodes[index]
        if evaluation.suppressed > self.budget:
            self.status[index] = self.FAILS
            if self.monotonic:
                self.status[np.all(self.nodes <= node, axis=1)] = self.FAILS
            return False
        self.status[index] = self.PASSES
        if self.monotonic:
            successors = np.all(self.nodes >= node, axis=1) & (self.status == self.UNKNOWN)
            self.status[successors] = self.PASSES
        self._offer(index, self.metric.score(evaluation), evaluation)
        return True

    def _climb(self, index: int) -> None:
        """From a failing node, follow failing successors upward to prune a larger down-set."""
        current = index
        while True:
            node = self.nodes[current]
            successors = []
            for dim in np.flatnonzero(node < self.heights):
                upper = node.copy()
                upper[dim] += 1
                succ = self.index_of[tuple(upper.tolist())]
                # Only nodes that could still beat the best score need a verdict.
                if self.status[succ] == self.UNKNOWN and self.bounds[succ] < self.best_score:
                    successors.append(succ)
            successors.sort(key=lambda i: self.bounds[i])
            for succ in successors:
                if self.status[succ] == self.UNKNOWN and not self._check(succ):
                    current = succ
                    break
            else:
                return

    def _evaluate(self, index: int) -> NodeEvaluation:
        node = tuple(int(v) for v in self.nodes[index])
        rolled = self.table.generalize(self.cache.source_for(node), node)
        self.cache.add(rolled)
        self.evaluated += 1
        return evaluate_table(self.table, rolled, self.models)

    def _offer(self, index: int, score: float, evaluation: NodeEvaluation | None) -> None:
        if score < self.best_score or (score == self.best_score and self._precedes(index, self.best_index)):
            placeholder = NodeEvaluation(tuple(int(v) for v in self.nodes[index]), None, None, None)
            self.best = evaluation if evaluation is not None else placeholder
            self.best_index, self.best_score = index, score

    def _precedes(self, index: int, other: int) -> bool:
        """Deterministic tie-break between equal scores: lower height, then lexicographic."""
        a, b = self.nodes[index], self.nodes[other]
        return (int(a.sum()), tuple(a.tolist())) < (int(b.sum()), tuple(b.tolist()))


def _bounded_out(node, learned_nodes, learned_bounds, best_score) -> bool:
    """Is the node a successor of an evaluated node whose learned bound already reaches the best?"""
    candidates = np.asarray(learned_bounds) >= best_score
    if not candidates.any():
        return False
    ancestors = np.asarray(learned_nodes)[candidates]
    return bool(np.all(ancestors <= node, axis=1).any())
