"""Cells of a DP release: the policy's fixed public domain (`dp` mode) or the data's own fine cells (`both`).

Columns are the partition column then the cell attributes (quasi-identifiers, then dimensions: the kanon cell
layout). In the public domain a listed value stays (an h3 value raised to the listed resolution first), any other
value becomes 'other', and a column the domain does not list is '*'. Every cell of that product is released every window,
whether or not the data has it, so which cells appear says nothing about anyone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.kanon.hierarchy import STAR, generalize
from pipeline.policy.model import KAnonSection

OTHER = "other"


@dataclass(frozen=True)
class CellCodes:
    """An int64 code per row and the cell (values, generalization levels) each code stands for."""

    codes: np.ndarray
    cells: list[tuple[str, ...]]
    levels: tuple[int, ...]


def _encode(values) -> tuple[np.ndarray, list[str]]:
    encoded = pa.array(values, type=pa.string()).fill_null("unknown").dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _combine(indices: list[np.ndarray], radices: list[int]) -> np.ndarray:
    codes = np.zeros(len(indices[0]) if indices else 0, dtype=np.int64)
    for index, radix in zip(indices, radices):
        codes = codes * radix + index
    return codes


def public_domain(config: KAnonSection, partition_values=None) -> tuple[list[list[str]], tuple[int, ...]]:
    """Per column the public values (+ 'other', or just '*'), and each cell attribute's published level.

    `partition_values`: the partition column's public values this release may publish (a stage partition
    releases only the values routed to it; the others are released by their own partition)."""
    names = [config.partition_column, *config.cell_attributes]
    values, qi_levels = [], []
    for name in names:
        column = config.dp.domain.get(name)
        public = list(dict.fromkeys(column.values)) if column else None
        if name == config.partition_column and public is not None and partition_values is not None:
            public = [v for v in public if v in set(partition_values)]
        values.append(public + [OTHER] if public is not None else [STAR])
        if name != config.partition_column:
            hierarchy = config.cell_attributes[name]
            if column is None:
                qi_levels.append(hierarchy.height)
            elif column.h3_resolution is not None:
                qi_levels.append(hierarchy.resolutions.index(column.h3_resolution) + 1)
            else:
                qi_levels.append(0)
    return values, tuple(qi_levels)


def domain_codes(columns: Sequence, config: KAnonSection, partition_values=None) -> tuple[np.ndarray, int]:
    """Rows (one sequence per column, kanon order) → public-domain cell codes, and the domain's size."""
    domain, qi_levels = public_domain(config, partition_values)
    names = [config.partition_column, *config.cell_attributes]
    indices = []
    for position, (name, column_values, public) in enumerate(zip(names, columns, domain)):
        index, uniques = _encode(column_values)
        if public == [STAR]:
            indices.append(np.zeros(len(index), dtype=np.int64))
            continue
        resolution = config.dp.domain[name].h3_resolution
        if resolution is not None:
            hierarchy = config.cell_attributes[name]
            level = qi_levels[position - 1]
            uniques = [generalize(hierarchy, u, level) for u in uniques]
        lookup = {value: i for i, value in enumerate(public)}
        other = lookup[OTHER]
        mapped = np.array([lookup.get(u, other) for u in uniques], dtype=np.int64)
        indices.append(mapped[index] if len(mapped) else index)
    radices = [len(v) for v in domain]
    return _combine(indices, radices), int(np.prod(radices))


def domain_cells(config: KAnonSection, partition_values=None) -> CellCodes:
    """Every cell of the public domain, in code order."""
    domain, qi_levels = public_domain(config, partition_values)
    cells = list(itertools.product(*domain))
    return CellCodes(np.arange(len(cells), dtype=np.int64), cells, qi_levels)


def observed_cells(columns: Sequence, config: KAnonSection) -> CellCodes:
    """Rows → codes of the fine (level 0) cells the rows hold; only these can be selected in `both` mode."""
    indices, dictionaries = [], []
    for column_values in columns:
        index, uniques = _encode(column_values)
        indices.append(index)
        dictionaries.append(uniques)
    combined = _combine(indices, [max(len(d), 1) for d in dictionaries])
    unique_codes, codes = np.unique(combined, return_inverse=True)
    cells = []
    for code in unique_codes.tolist():
        parts = []
        for dictionary in reversed(dictionaries):
            code, index = divmod(code, max(len(dictionary), 1))
            parts.append(dictionary[index])
        cells.append(tuple(reversed(parts)))
    return CellCodes(codes.astype(np.int64), cells, tuple(0 for _ in config.cell_attributes))


def cell_key(cell: tuple[str, ...]) -> str:
    return "\x1f".join(cell)

