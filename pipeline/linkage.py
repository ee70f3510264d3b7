"""Who is one person: identifiers that occur together in a row belong to one subject (connected components).

Scope is explicit and is the caller's: the functions link exactly the rows they are given, nothing else. The
k-anonymity release passes one window of one stage partition (pipeline/kanon/), erasure passes all retained data,
DP bounding passes what it bounds. Linking over more rows can only merge subjects (fewer people per cell: the safe
direction for k); it never splits them. What each scope catches and misses is written down in docs/kanon.md.

A node is a (column, value) pair: equal strings in different columns (a user pseudonym that happens to equal a
device pseudonym) are different identifiers and never merge. A row with no identifier at all belongs to no subject
(component id -1).

Connected components are found with a vectorized hook-and-compress union-find in numpy (Shiloach-Vishkin style:
every root hooks to the smallest root among its edges, then pointer jumping flattens the trees). scipy's
`csgraph.connected_components` does the same in C, but importing it adds ~35 MB of RSS to every worker for a
graph that is at most one window's distinct identifier tuples; tests/test_linkage.py checks ours against a
plain union-find on random graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

NO_SUBJECT = -1


@dataclass(frozen=True)
class Component:
    """One linked subject: its identifiers per column, and how many input rows it covers."""

    id: int
    identifiers: dict[str, frozenset[str]]
    rows: int

    @property
    def size(self) -> int:
        """Number of distinct identifiers (what a cap limits)."""
        return sum(len(values) for values in self.identifiers.values())


@dataclass(frozen=True)
class Linkage:
    """Result of `components`: the subject of each row, the groups within the cap, and those above it."""

    row_subject: np.ndarray  # int64 per row; NO_SUBJECT for a row without identifiers
    groups: list[Component]  # components within the cap (all of them when there is none)
    oversized: list[Component]  # components with more than `max_size` identifiers (reported, not expanded)

    def containing(self, column: str, values: Iterable[str]) -> list[Component]:
        """Groups (within the cap) holding any of these identifiers of `column`."""
        wanted = set(values)
        return [g for g in self.groups if wanted & g.identifiers.get(column, frozenset())]

    def oversized_containing(self, column: str, values: Iterable[str]) -> list[Component]:
        """Components above the cap that hold any of these identifiers (what a capped caller left alone)."""
        wanted = set(values)
        return [g for g in self.oversized if wanted & g.identifiers.get(column, frozenset())]


def _encode(columns: Sequence[Sequence[str | None]]) -> tuple[np.ndarray, list[pa.Array]]:
    """Rows × columns matrix of global node ids (-1 = null), and each column's dictionary of values."""
    rows = len(columns[0]) if columns else 0
    nodes = np.full((rows, len(columns)), -1, dtype=np.int64)
    dictionaries: list[pa.Array] = []
    base = 0
    for j, column in enumerate(columns):
        array = column if isinstance(column, (pa.Array, pa.ChunkedArray)) else pa.array(column, type=pa.string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if len(array) != rows:
            raise ValueError(f"identifier column {j} has {len(array)} rows, column 0 has {rows}")
        encoded = array.dictionary_encode()
        codes = encoded.indices.fill_null(-1).to_numpy().astype(np.int64)
        nodes[:, j] = np.where(codes >= 0, codes + base, -1)
        dictionaries.append(encoded.dictionary)
        base += len(encoded.dictionary)
    return nodes, dictionaries


def _roots(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root (smallest node id) of every node's connected component, for undirected edges a[i]–b[i]."""
    parent = np.arange(n_nodes, dtype=np.int64)
    while True:
        pa_, pb = parent[a], parent[b]
        low, high = np.minimum(pa_, pb), np.maximum(pa_, pb)
        differ = low != high
        if not differ.any():
            return parent
        # Both ends are roots (the trees are flat here), and a root only ever points to a smaller one: no cycles.
        np.minimum.at(parent, high[differ], low[differ])
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def _link(columns: Sequence[Sequence[str | None]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[pa.Array]]:
    """(row subject ids, node → dense component id, nodes matrix, dictionaries)."""
    if not columns:
        raise ValueError("linkage needs at least one identifier column")
    nodes, dictionaries = _encode(columns)
    n_nodes = sum(len(d) for d in dictionaries)
    present = nodes >= 0
    has_any = present.any(axis=1)
    first = np.where(has_any, nodes[np.arange(len(nodes)), present.argmax(axis=1)], NO_SUBJECT)
    # Star edges: the row's first identifier to each of its others (a row is a clique; a star spans it).
    a = np.concatenate([first[present[:, j]] for j in range(nodes.shape[1])])
    b = np.concatenate([nodes[present[:, j], j] for j in range(nodes.shape[1])])
    roots = _roots(n_nodes, a, b)
    _, dense = np.unique(roots, return_inverse=True)
    dense = dense.astype(np.int64).reshape(-1)
    if n_nodes == 0:
        return np.full(len(nodes), NO_SUBJECT, dtype=np.int64), dense, nodes, dictionaries
    rows = np.where(has_any, dense[np.maximum(first, 0)], NO_SUBJECT)
    return rows.astype(np.int64), dense, nodes, dictionaries


def subject_ids(identifier_columns: Sequence[Sequence[str | None]]) -> np.ndarray:
    """One subject id per row (int64, dense from 0; -1 for a row without identifiers).

    Rows share an id exactly when a chain of shared identifiers (same column, same value) connects them.
    """
    return _link(identifier_columns)[0]


def components(identifier_columns: Sequence[Sequence[str | None]], names: Sequence[str] | None = None,
               max_size: int | None = None) -> Linkage:
    """Subjects with their identifiers; components with more than `max_size` identifiers are set apart.

    The cap is for erasure: a kiosk or family device links everyone who used it, and erasing one of them must not
    erase strangers; the caller reports `oversized` instead of acting on it.
    """
    names = list(names) if names is not None else [str(j) for j in range(len(identifier_columns))]
    if len(names) != len(identifier_columns):
        raise ValueError(f"{len(names)} names for {len(identifier_columns)} identifier columns")
    rows, dense, _, dictionaries = _link(identifier_columns)
    n_components = int(dense.max()) + 1 if len(dense) else 0
    members: list[dict[str, set[str]]] = [{} for _ in range(n_components)]
    base = 0
    for name, dictionary in zip(names, dictionaries):
        labels = dense[base:base + len(dictionary)]
        for value, label in zip(dictionary.to_pylist(), labels.tolist()):
            members[label].setdefault(name, set()).add(value)
        base += len(dictionary)
    row_counts = np.bincount(rows[rows >= 0], minlength=n_components)
    groups, oversized = [], []
    for cid, identifiers in enumerate(members):
        component = Component(cid, {k: frozenset(v) for k, v in identifiers.items()}, int(row_counts[cid]))
        (oversized if max_size is not None and component.size > max_size else groups).append(component)
    return Linkage(rows, groups, oversized)


def table_columns(table: pa.Table, names: Sequence[str]) -> list[pa.ChunkedArray]:
    """The named identifier columns of an Arrow table, as strings (the usual input of the functions above)."""
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise KeyError(f"identifier columns not in the table: {', '.join(missing)}")
    return [table.column(n).cast(pa.string()) for n in names]


def subjects_of_seeds(linkage: Linkage, seeds: Mapping[str, Iterable[str]]) -> list[Component]:
    """Every group (within the cap) linked to any seed identifier, without duplicates, by component id."""
    found: dict[int, Component] = {}
    for column, values in seeds.items():
        for component in linkage.containing(column, values):
            found[component.id] = component
    return [found[k] for k in sorted(found)]
