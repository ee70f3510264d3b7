"""Column helpers for operators: compute once per distinct value (per key epoch), map back with Arrow `take`."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class BoundedCache:
    """A dict that forgets everything once it holds `max_entries`: O(1) lookups, memory bounded.

    Used across batches for results of pure functions of one value (parsed UA, truncated IP, pseudonym of an
    id under one key). Clearing at the bound (rather than LRU bookkeeping) keeps a hit at one dict lookup.
    """

    def __init__(self, max_entries: int, max_weight: int | None = None, weight: Callable[[Any], int] = len):
        """`max_weight` bounds the sum of `weight(key)` over the keys held too (e.g. characters of cached texts)."""
        self.max_entries = max_entries
        self.max_weight = max_weight
        self.weight = weight
        self._data: dict = {}
        self._weight = 0

    def __len__(self) -> int:
        return len(self._data)

    def _full(self) -> bool:
        return len(self._data) >= self.max_entries or (self.max_weight is not None and self._weight >= self.max_weight)

    def misses(self, keys: Sequence[Hashable]) -> list:
        """The distinct keys `lookup(keys, ...)` would compute now, in the order it would pass them."""
        if self._full():
            return list(dict.fromkeys(keys))
        data = self._data
        return list(dict.fromkeys(key for key in keys if data.get(key) is None))

    def lookup(self, keys: Sequence[Hashable], compute_many: Callable[[list], list]) -> list:
        """Cached results for `keys`; the misses are computed together by `compute_many(missing_keys)`."""
        data = self._data
        if self._full():
            data.clear()
            self._weight = 0
        out = list(map(data.get, keys))
        if None in out:  # some misses (a cached None result is recomputed: correct, merely slower)
            missing = [key for key, value in zip(keys, out) if value is None]
            distinct = list(dict.fromkeys(missing))
            computed = compute_many(distinct)
            data.update(zip(distinct, computed))
            if self.max_weight is not None:
                self._weight += sum(map(self.weight, distinct))
            if len(distinct) == len(missing):  # the usual case (keys are a column's distinct values): fill in order
                results = iter(computed)
                out = [value if value is not None else next(results) for value in out]
            else:
                out = [value if value is not None else data[key] for key, value in zip(keys, out)]
        return out


def encode(values: pa.Array) -> tuple[list, pa.Array]:
    """(distinct non-null values as Python objects, per-row int32 index into them; null where the value is null)."""
    encoded = values if pa.types.is_dictionary(values.type) else values.dictionary_encode()
    return encoded.dictionary.to_pylist(), encoded.indices


def as_strings(values: pa.Array) -> pa.Array:
    """A string column; non-string input is rendered with Python's str() as the row-wise operators did."""
    if pa.types.is_string(values.type):
        return values
    return pa.array([None if v is None else str(v) for v in values.to_pylist()], type=pa.string())


def map_unique(values: pa.Array, fn: Callable, out_type: pa.DataType, cache: BoundedCache | None = None) -> pa.Array:
    """fn applied to each distinct non-null value only, spread back to every row (null stays null)."""
    uniques, indices = encode(values)
    results = cache.lookup(uniques, lambda keys: [fn(k) for k in keys]) if cache is not None else [fn(u) for u in uniques]
    return pa.array(results, type=out_type).take(indices)


def map_unique_multi(values: pa.Array, fn: Callable, out_types: Sequence[pa.DataType],
                     cache: BoundedCache | None = None) -> list[pa.Array]:
    """Like map_unique for a function returning one tuple element per output column."""
    uniques, indices = encode(values)
    rows = cache.lookup(uniques, lambda keys: [fn(k) for k in keys]) if cache is not None else [fn(u) for u in uniques]
    return [pa.array([row[i] for row in rows], type=t).take(indices) for i, t in enumerate(out_types)]


@dataclass
class KeyedDistinct:
    """Distinct (key epoch, value) pairs of a column: compute per group, then `spread` slot results to rows."""

    groups: list[tuple[int, list, list[int]]]  # (index into ring.keys, distinct values, their slot numbers)
    slots: int
    row_slots: pa.Array  # int per row; null where the value is null or the row has no key

    def compute(self, fn: Callable[[int, list], list]) -> list:
        """Slot results of fn(key index, distinct values) over every group."""
        if len(self.groups) == 1 and len(self.groups[0][1]) == self.slots:  # one epoch: slots are the values
            key_idx, uniques, _ = self.groups[0]
            return list(fn(key_idx, uniques))
        slots = [None] * self.slots
        for key_idx, uniques, positions in self.groups:
            for position, result in zip(positions, fn(key_idx, uniques)):
                slots[position] = result
        return slots

    def spread(self, slot_values: list, out_type: pa.DataType) -> pa.Array:
        return pa.array(slot_values, type=out_type).take(self.row_slots)

    def rows_where(self, slot_flags: list[bool]) -> np.ndarray:
        """Rows whose slot is flagged (e.g. the value was rejected)."""
        hit = pa.array(slot_flags, type=pa.bool_()).take(self.row_slots)
        return np.flatnonzero(pc.fill_null(hit, False).to_numpy(zero_copy_only=False))


def distinct_per_key(values: pa.Array, key_index: np.ndarray) -> KeyedDistinct:
    """Group the column's distinct values by the key epoch of their rows (one group in the usual batch)."""
    uniques, indices = encode(values)
    if not uniques:
        return KeyedDistinct([], 0, pa.nulls(len(values), pa.int32()))
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
    used_keys = np.unique(key_index[codes >= 0])
    if len(used_keys) == 1 and used_keys[0] >= 0 and (key_index >= 0).all():
        return KeyedDistinct([(int(used_keys[0]), uniques, list(range(len(uniques))))], len(uniques), indices)
    combined = np.where((codes >= 0) & (key_index >= 0), key_index.astype(np.int64) * len(uniques) + codes, -1)
    pairs, inverse = np.unique(combined, return_inverse=True)
    offset = 1 if pairs[0] < 0 else 0  # slot 0 is the "no value" pair when present
    groups = []
    pair_keys, pair_codes = np.divmod(pairs[offset:], len(uniques))
    for key in np.unique(pair_keys):
        positions = np.flatnonzero(pair_keys == key)
        groups.append((int(key), [uniques[c] for c in pair_codes[positions]], (positions + offset).tolist()))
    row_slots = pa.array(inverse.astype(np.int32), mask=combined < 0)
    return KeyedDistinct(groups, len(pairs), row_slots)
