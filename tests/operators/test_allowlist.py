"""`allowlist` keeps only listed keys (and listed values) of an object, as sorted JSON."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_support import run

KEYS = {"service": ["housing", "roads"], "screen": None, "count": None}


@pytest.mark.parametrize("obj, expected", [
    ({"service": "roads", "screen": "home"}, {"screen": "home", "service": "roads"}),  # allowed kept
    ({"service": "weapons"}, {"service": "other"}),                # value outside the list → other
    ({"screen": "Иван Петров +77011234567"}, {"screen": "other"}),  # free text under "any" → other
    ({"secret_key": "x", "screen": "map"}, {"screen": "map"}),     # unlisted key dropped
    ({"count": 3}, {"count": 3}),                                  # numbers pass "any"
    ({"count": True}, {"count": True}),                            # bool is not confused with 1
    ({"count": 1.0}, {"count": 1.0}),                              # float is not confused with 1
    ({"screen": None}, None),                                      # only nulls → no object at all
    ({}, None),                                                    # empty object → null
    (None, None),                                                  # absent → null
])
def test_allowlist_filters(obj, expected):
    column = run("allowlist", [obj], params={"keys": KEYS}, output="props").columns["props"].to_pylist()
    assert (json.loads(column[0]) if column[0] is not None else None) == expected


def test_equal_but_differently_typed_values_stay_distinct_in_one_batch():
    values = [{"count": 1}, {"count": True}, {"count": 1.0}, {"count": 1}]
    column = run("allowlist", values, params={"keys": KEYS}, output="p").columns["p"].to_pylist()
    assert column == ['{"count":1}', '{"count":true}', '{"count":1.0}', '{"count":1}']


_SCALARS = (st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, -0.0, 1.0, 1.5]) | st.floats()
            | st.sampled_from(["housing", "roads", "home", "null", "a b", "x" * 70, "1", "true"]))
_OBJECTS = st.none() | st.dictionaries(st.sampled_from(["service", "screen", "count", "extra"]),
                                       _SCALARS | st.lists(_SCALARS, max_size=2), max_size=4)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_OBJECTS, max_size=12).flatmap(lambda vs: st.permutations(vs + vs[:3])))
def test_batch_equals_each_object_alone(values):
    """Computed once per distinct JSON text, the column is what each object gives on its own (NaN, ±inf and None
    included, which all print as null)."""
    batch = run("allowlist", values, params={"keys": KEYS}, output="p").columns["p"].to_pylist()
    alone = [run("allowlist", [v], params={"keys": KEYS}, output="p").columns["p"].to_pylist()[0] for v in values]
    assert batch == alone


def test_integer_beyond_64_bits_is_written_not_raised():
    column = run("allowlist", [{"count": -(2**63) - 1}], params={"keys": KEYS}, output="p").columns["p"].to_pylist()
    assert json.loads(column[0]) == {"count": -(2**63) - 1}
