"""The explicit operator registry: every operator module registered once, unknown names refused helpfully."""

import pkgutil

import pytest

import pipeline.operators as operators_package
from pipeline.operators.base import Operator
from pipeline.operators.registry import OPERATORS, operator_class

NOT_OPERATORS = {"base", "registry", "columnar", "ip_address", "ip_special"}  # shared helpers, not plugins


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_registered_class_has_its_name_and_params(name):
    cls = operator_class(name)
    assert issubclass(cls, Operator) and cls.name == name
    cls.Params.model_validate({"keys": {}} if name == "allowlist" else {})


def test_every_operator_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(operators_package.__path__)} - NOT_OPERATORS
    assert modules == set(OPERATORS)


def test_unknown_operator_lists_known_ones():
    with pytest.raises(KeyError) as info:
        operator_class("hash_everything")
    assert "hash_everything" in str(info.value) and "hmac_pseudonym" in str(info.value)


@pytest.mark.parametrize("name, params", [
    ("hmac_pseudonym", {"lenght": 16}),       # typo in a parameter name
    ("ip_truncate", {"ipv4_prefix": 33}),     # out of range
    ("geo_cell", {"resolution": "fine"}),     # wrong type
])
def test_bad_params_refused(name, params):
    with pytest.raises(ValueError):
        operator_class(name).Params.model_validate(params)
