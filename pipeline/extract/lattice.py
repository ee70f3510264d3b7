"""Integer encoding of the quasi-identifiers and the generalization lattice over their hierarchies."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.hierarchies.base import Hierarchy, HierarchyError

# Keys are built in int64; stay well below 2**63 so `key * cardinality + code` never overflows.
_KEY_LIMIT = 2**62


def combine_codes(columns: list[np.ndarray], cardinalities: list[int]) -> tuple[np.ndarray, int]:
    """Mixed-radix key of several code columns; returns the key and its exclusive upper bound."""
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    span = 1
    for codes, cardinality in zip(columns, cardinalities):
        if span * cardinality >= _KEY_LIMIT:
            # Re-number the key densely first, so the product fits again.
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * cardinality + codes
        span *= cardinality
    return key, span


def group_keys(key: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense group id of every key (ordered by key) and one representative position per group."""
    if span <= max(4 * len(key), 1 << 16):
        # Small key space: a presence table is O(n + span), cheaper than sorting.
        seen = np.zeros(span, dtype=bool)
        seen[key] = True
        ids = np.cumsum(seen) - 1
        inverse = ids[key]
        groups = int(ids[-1]) + 1 if span else 0
    else:
        _, inverse = np.unique(key, return_inverse=True)
        groups = int(inverse.max()) + 1 if len(inverse) else 0
    representative = np.empty(groups, dtype=np.int64)
    representative[inverse] = np.arange(len(key))
    return inverse, representative


@dataclass
class Dimension:
    """One quasi-identifier: its hierarchy, the analyst's weight and the levels the search may choose."""

    column: str
    hierarchy: Hierarchy
    source: str
    weight: float = 1.0
    """Relative importance in the Loss/granularity score (ARX's attribute weight)."""
    min_level: int = 0
    """Lowest level the search may choose (ARX's minimum generalization)."""
    max_level: int | None = None
    """Highest level the search may choose (ARX's maximum generalization); None = the top `*`."""
    _up_maps: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        top = self.hierarchy.height
        high = top if self.max_level is None else self.max_level
        if not 0 <= self.min_level <= high <= top:
            raise HierarchyError(
                f"levels for {self.column!r}: need 0 <= min ({self.min_level}) <= max ({high}) <= {top}, "
                f"the height of its hierarchy"
            )
        self.max_level = high

    @property
    def height(self) -> int:
        return self.hierarchy.height

    def cardinality(self, level: int) -> int:
        """Number of distinct labels at ``level``."""
        return len(self.hierarchy.level_values(level))

    def up_map(self, source_level: int, target_level: int) -> np.ndarray:
        """Array mapping a label code at ``source_level`` to its ancestor's code at ``target_level``."""
        key = (source_level, target_level)
        if key not in self._up_maps:
            mapping = np.empty(self.cardinality(source_level), dtype=np.int64)
            # Well defined because the hierarchy was checked to give each label one parent.
            mapping[self.hierarchy.level_codes(source_level)] = self.hierarchy.level_codes(target_level)
            self._up_maps[key] = mapping
        return self._up_maps[key]

    @cached_property
    def shares(self) -> list[np.ndarray]:
        """Per level, each label's share of the hierarchy's leaves (ARX ``DomainShareMaterialized``)."""
        size = len(self.hierarchy.leaves)
        return [self.hierarchy.leaves_covered(level) / size for level in range(self.height + 1)]


def encode_leaves(column: str, values: np.ndarray, hierarchy: Hierarchy) -> np.ndarray:
    """Leaf code of every value; fails naming the values the hierarchy does not contain."""
    codes = pd.Index(hierarchy.leaves).get_indexer(values)
    missing = codes < 0
    if missing.any():
        absent = pd.unique(values[missing])
        shown = ", ".join(repr(v) for v in absent[:5]) + (" …" if len(absent) > 5 else "")
        raise HierarchyError(
            f"hierarchy for {column!r} has no entry for {len(absent)} value(s) present in the data: {shown}"
        )
    return codes.astype(np.int64)


@dataclass
class ClassTable:
    """Distinct (generalized QI codes, sensitive code) combinations at one lattice node, with counts."""

    levels: tuple[int, ...]
    codes: np.ndarray  # (rows, dims) label codes at ``levels``
    sensitive: np.ndarray | None  # (rows,) sensitive codes, or None
    counts: np.ndarray  # (rows,) number of records
    subjects: np.ndarray | None = None  # (rows,) person codes when k counts people, else None


class EncodedTable:
    """The quasi-identifiers as integer codes, collapsed to distinct rows, plus the lattice.

    Encoding once and generalizing through precomputed code maps is what keeps every lattice
    node cheap to evaluate (Kohlmayer et al. 2012, "Flash: efficient, stable and optimal
    k-anonymity", use the same dictionary encoding and roll-up).
    """

    def __init__(self, dimensions: list[Dimension], leaf_codes: list[np.ndarray],
                 sensitive_codes: np.ndarray | None, sensitive_cardinality: int,
                 subject_codes: np.ndarray | None = None):
        self.dimensions = dimensions
        self.n_records = len(leaf_codes[0])
        self.sensitive_cardinality = sensitive_cardinality
        self.row_codes = np.column_stack(leaf_codes)
        self.row_sensitive = sensitive_codes
        # People are carried through every roll-up as one more code column, so a class's distinct
        # people are its distinct (class, person) pairs; None means every record is its own person.
        self.row_subjects = subject_codes
        self.subject_cardinality = int(subject_codes.max()) + 1 if subject_codes is not None and len(subject_codes) else 0
        self.base, self.row_to_base = self._collapse(tuple([0] * len(dimensions)), self.row_codes,
                                                     sensitive_codes, np.ones(self.n_records, dtype=np.int64),
                                                     subject_codes)
        self.global_sensitive_frequencies = (
            np.bincount(sensitive_codes, minlength=sensitive_cardinality) / self.n_records
            if sensitive_codes is not None else None
        )

    @property
    def heights(self) -> np.ndarray:
        return np.array([d.height for d in self.dimensions], dtype=np.int64)

    @property
    def min_levels(self) -> np.ndarray:
        return np.array([d.min_level for d in self.dimensions], dtype=np.int64)

    @property
    def max_levels(self) -> np.ndarray:
        return np.array([d.max_level for d in self.dimensions], dtype=np.int64)

    def all_nodes(self) -> np.ndarray:
        """Every transformation (one level per QI, within each QI's min/max level) of the lattice."""
        low, high = self.min_levels, self.max_levels
        shape = tuple(int(h - lo) + 1 for lo, h in zip(low, high))
        return np.indices(shape).reshape(len(shape), -1).T.astype(np.int64) + low

    def generalize(self, table: ClassTable, levels: tuple[int, ...]) -> ClassTable:
        """Roll ``table`` up to ``levels`` (each level >= the table's own)."""
        codes = np.column_stack([
            column if source == target else dim.up_map(source, target)[column]
            for dim, column, source, target in zip(self.dimensions, table.codes.T, table.levels, levels)
        ])
        collapsed, _ = self._collapse(levels, codes, table.sensitive, table.counts, table.subjects)
        return collapsed

    def people(self, class_of_row: np.ndarray, subjects: np.ndarray | None, n_classes: int) -> np.ndarray | None:
        """Distinct people in each class (None when records are people)."""
        if subjects is None:
            return None
        key, span = combine_codes([class_of_row, subjects], [n_classes, self.subject_cardinality])
        _, representative = group_keys(key, span)
        return np.bincount(class_of_row[representative], minlength=n_classes).astype(np.int64)

    def classes(self, table: ClassTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Equivalence class of every table row, each class's QI codes, and class sizes."""
        key, span = self._qi_key(table.levels, table.codes)
        class_of_row, representative = group_keys(key, span)
        sizes = np.bincount(class_of_row, weights=table.counts).astype(np.int64)
        return class_of_row, table.codes[representative], sizes

    def record_classes(self, levels: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like ``classes`` but per input record: class of each record, class codes, sizes."""
        base_at_levels = np.column_stack([
            dim.up_map(0, level)[column] for dim, column, level in zip(self.dimensions, self.base.codes.T, levels)
        ])
        key, span = self._qi_key(levels, base_at_levels)
        class_of_base, representative = group_keys(key, span)
        sizes = np.bincount(class_of_base, weights=self.base.counts).astype(np.int64)
        return class_of_base[self.row_to_base], base_at_levels[representative], sizes

    def _qi_key(self, levels, codes: np.ndarray) -> tuple[np.ndarray, int]:
        cards = [dim.cardinality(level) for dim, level in zip(self.dimensions, levels)]
        return combine_codes(list(codes.T), cards)

    def _collapse(self, levels, codes, sensitive, counts, subjects=None) -> tuple[ClassTable, np.ndarray]:
        columns = list(codes.T)
        cards = [dim.cardinality(level) for dim, level in zip(self.dimensions, levels)]
        if sensitive is not None:
            columns.append(sensitive)
            cards.append(self.sensitive_cardinality)
        if subjects is not None:
            columns.append(subjects)
            cards.append(self.subject_cardinality)
        key, span = combine_codes(columns, cards)
        inverse, representative = group_keys(key, span)
        table = ClassTable(
            tuple(int(level) for level in levels),
            codes[representative],
            sensitive[representative] if sensitive is not None else None,
            np.bincount(inverse, weights=counts).astype(np.int64),
            subjects[representative] if subjects is not None else None,
        )
        return table, inverse
