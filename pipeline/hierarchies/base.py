"""The validated generalization hierarchy type shared by the loader, the builders and the search."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


STAR = "*"
# A missing value is its own leaf: it stays NULL_LEAF at every level below the top `*`, so nulls
# form their own class instead of failing the build or hiding among real values.
NULL_LEAF = ""


class HierarchyError(ValueError):
    """A hierarchy file or spec is malformed, inconsistent or does not cover the data."""


@dataclass(frozen=True)
class Hierarchy:
    """A materialized value generalization hierarchy (one row per leaf, one column per level).

    Level 0 holds the original (leaf) values; each further column is coarser. This is the
    representation ARX uses for its CSV hierarchies (Prasser & Kohlmayer 2015, "Putting
    statistical disclosure control into practice: the ARX data anonymization tool").

    ``labels[:, level]`` is the generalized label of every leaf at that level. The constructor
    checks that leaves are unique and that every label maps to exactly one parent, so the
    levels form a tree and full-domain generalization is well defined.
    """

    name: str
    labels: np.ndarray  # shape (n_leaves, n_levels), dtype object (str)
    _codes: list[np.ndarray] = field(init=False, repr=False, compare=False)
    _label_values: list[np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=object)
        if labels.ndim != 2 or labels.shape[0] == 0 or labels.shape[1] == 0:
            raise HierarchyError(f"hierarchy {self.name!r} is empty")
        object.__setattr__(self, "labels", labels)
        _check_unique_leaves(self.name, labels[:, 0])
        codes, values = [], []
        for level in range(labels.shape[1]):
            level_codes, level_values = pd.factorize(labels[:, level], sort=False)
            codes.append(level_codes.astype(np.int64))
            values.append(np.asarray(level_values, dtype=object))
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_label_values", values)
        for level in range(labels.shape[1] - 1):
            _check_single_parent(self.name, level, labels[:, level], labels[:, level + 1])

    @property
    def leaves(self) -> np.ndarray:
        """The original values covered by this hierarchy, in file order."""
        return self.labels[:, 0]

    @property
    def height(self) -> int:
        """The highest generalization level (number of levels minus one)."""
        return self.labels.shape[1] - 1

    def level_codes(self, level: int) -> np.ndarray:
        """Integer code of each leaf's label at ``level`` (indexes ``level_values(level)``)."""
        return self._codes[level]

    def level_values(self, level: int) -> np.ndarray:
        """The distinct labels at ``level``, indexed by code."""
        return self._label_values[level]

    def leaves_covered(self, level: int) -> np.ndarray:
        """Number of hierarchy leaves under each label code at ``level`` (Iyengar 2002 loss)."""
        return np.bincount(self._codes[level], minlength=len(self._label_values[level]))


def _check_unique_leaves(name: str, leaves: np.ndarray) -> None:
    duplicated = pd.Series(leaves).duplicated()
    if duplicated.any():
        value = leaves[int(np.flatnonzero(duplicated.to_numpy())[0])]
        raise HierarchyError(f"hierarchy {name!r}: leaf value {value!r} appears on more than one row")


def _check_single_parent(name: str, level: int, child: np.ndarray, parent: np.ndarray) -> None:
    pairs = pd.DataFrame({"child": child, "parent": parent}).drop_duplicates()
    counts = pairs.groupby("child", sort=False)["parent"].transform("size")
    if (counts > 1).any():
        bad = pairs[counts > 1]
        value = bad["child"].iloc[0]
        parents = sorted(bad.loc[bad["child"] == value, "parent"].astype(str))
        raise HierarchyError(
            f"hierarchy {name!r}: value {value!r} at level {level} maps to more than one parent "
            f"at level {level + 1}: {', '.join(repr(p) for p in parents)}"
        )


def hierarchy_from_columns(name: str, leaves: np.ndarray, levels: list[np.ndarray]) -> Hierarchy:
    """Assemble a hierarchy from leaf values and coarser label columns, adding a ``*`` top level."""
    columns = [np.asarray(leaves, dtype=object)] + [np.asarray(col, dtype=object) for col in levels]
    if len(columns) == 1 or set(columns[-1].tolist()) != {STAR}:
        columns.append(np.full(len(columns[0]), STAR, dtype=object))
    return Hierarchy(name, np.column_stack(columns))


def with_null_leaf(hierarchy: Hierarchy) -> Hierarchy:
    """The hierarchy plus a NULL_LEAF row (null at every level, `*` at the top) if it has none."""
    if NULL_LEAF in set(hierarchy.leaves.tolist()):
        return hierarchy
    row = np.array([[NULL_LEAF] * hierarchy.height + [STAR]], dtype=object)
    return Hierarchy(hierarchy.name, np.vstack([hierarchy.labels, row]))


def build_from_levels(name: str, leaves: np.ndarray, generalize, n_levels: int) -> Hierarchy:
    """Materialize a value-wise builder over ``leaves``: ``generalize(values, level)`` for levels 1..n_levels.

    Null leaves (NULL_LEAF) never reach ``generalize``; they stay NULL_LEAF below the top.
    """
    leaves = np.asarray(leaves, dtype=object)
    present = leaves != NULL_LEAF
    levels = []
    for level in range(1, n_levels + 1):
        column = np.full(len(leaves), NULL_LEAF, dtype=object)
        if present.any():
            column[present] = generalize(leaves[present], level)
        levels.append(column)
    return hierarchy_from_columns(name, leaves, levels)
