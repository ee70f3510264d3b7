"""`version_major` keeps the first N dot-separated components of a version."""

import pytest
from operators_support import run


@pytest.mark.parametrize("values, components, expected", [
    (["2.4.1", "3.0.0"], 1, ["2", "3"]),            # major only (default)
    (["2.4.1", "10"], 2, ["2.4", "10"]),            # fewer components than asked: kept whole
    (["1.2.3.4"], 4, ["1.2.3.4"]),                  # maximum components
    ([None, "2.4.1", None], 1, [None, "2", None]),  # absent stays absent
])
def test_version_components(values, components, expected):
    result = run("version_major", values, params={"components": components}, output="v")
    assert result.columns["v"].to_pylist() == expected


def test_zero_components_refused():
    from pipeline.operators.version_major import VersionParams
    with pytest.raises(ValueError):
        VersionParams.model_validate({"components": 0})
