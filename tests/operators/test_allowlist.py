"""`allowlist` keeps only listed keys (and listed values) of an object, as sorted JSON."""

import json

import pytest
from operator_helpers import run

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
