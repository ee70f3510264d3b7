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


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.text(max_size=5), max_size=12), max_size=6), max_weight=st.integers(1, 30))
def test_weight_bound_holds_and_lookup_still_equals_the_function(batches, max_weight):
    cache = BoundedCache(1_000, max_weight)
    for keys in batches:
        assert cache.lookup(keys, lambda missing: [k.upper() + "!" for k in missing]) == [k.upper() + "!" for k in keys]
        held = sum(map(len, cache._data))
        assert cache._weight == held  # the running weight is the held keys' weight
        assert held < max_weight + sum(map(len, set(keys)))  # emptied before it grew past the bound


def test_the_cache_is_emptied_once_its_keys_weigh_the_bound():
    cache = BoundedCache(1_000, max_weight=10)
    calls = []
    compute = lambda missing: calls.extend(missing) or [len(k) for k in missing]  # noqa: E731
    cache.lookup(["abcdef", "ghij"], compute)  # 10 characters held
    cache.lookup(["abcdef"], compute)  # at the bound: emptied, so computed again
    assert calls == ["abcdef", "ghij", "abcdef"]
