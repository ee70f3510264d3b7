"""BoundedCache: cached and computed results come back in key order; misses are computed once, together."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.operators.columnar import BoundedCache


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.integers(0, 30), max_size=20), max_size=6), bound=st.integers(1, 40))
def test_lookup_equals_the_function(batches, bound):
    cache = BoundedCache(bound)
    calls: list[list[int]] = []

    def compute(keys: list[int]) -> list[str]:
        calls.append(keys)
        return [f"v{k}" for k in keys]
    for keys in batches:
        assert cache.lookup(keys, compute) == [f"v{k}" for k in keys]
    for keys in calls:
        assert len(keys) == len(set(keys))  # each miss computed once per lookup
