"""`keep` passes values through unchanged, as strings by default or as the declared type."""

import pyarrow as pa
import pytest
from operators_support import run


@pytest.mark.parametrize("values, params, arrow_type, expected", [
    (["a", None, "b"], {}, pa.string(), ["a", None, "b"]),             # strings pass through, null stays null
    ([1, 2, None], {}, pa.int64(), ["1", "2", None]),                  # non-strings become their str()
    ([1.5, None], {"type": "float"}, pa.float64(), [1.5, None]),       # declared float kept numeric
    ([7, None], {"type": "int"}, pa.int64(), [7, None]),              # declared int kept as int64
    ([True, False], {"type": "bool"}, pa.bool_(), [True, False]),      # declared bool kept
])
def test_keep_values(values, params, arrow_type, expected):
    result = run("keep", values, params=params, arrow_type=arrow_type, output="out")
    assert result.columns["out"].to_pylist() == expected
    assert result.rejects == {}


def test_keep_unknown_type_refused():
    from pipeline.operators.keep import KeepParams
    with pytest.raises(ValueError):
        KeepParams.model_validate({"type": "date"})
