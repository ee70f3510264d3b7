"""`geo_cell`: coordinates → H3 cell at the finest resolution the fix's accuracy supports; bad points rejected."""

import math

import h3
import pyarrow as pa
import pytest
from operators_support import run

from pipeline.common.rejects import INVALID_VALUE

GEO = pa.struct([("lat", pa.float64()), ("lon", pa.float64()), ("accuracy_m", pa.float64())])


def edge(res: int) -> float:
    return h3.average_hexagon_edge_length(res, unit="m")


@pytest.mark.parametrize("geo, params, expected_res", [
    ({"lat": 51.128, "lon": 71.43, "accuracy_m": None}, {}, 8),                  # unknown accuracy → finest
    ({"lat": 51.128, "lon": 71.43, "accuracy_m": 5.0}, {}, 8),                   # precise fix → finest
    ({"lat": 51.128, "lon": 71.43, "accuracy_m": edge(8) + 1}, {}, 7),           # just coarser than res 8
    ({"lat": 51.128, "lon": 71.43, "accuracy_m": edge(5)}, {}, 5),               # exactly the coarsest edge
    ({"lat": 51.128, "lon": 71.43, "accuracy_m": edge(5) + 1}, {}, None),        # too vague → no location
    ({"lat": 51.128, "lon": 71.43}, {"resolution": 10, "min_resolution": 9}, 10),  # custom finest
    ({"lat": -90.0, "lon": 180.0, "accuracy_m": 0.0}, {}, 8),                    # range edges are valid
])
def test_cell_and_resolution(geo, params, expected_res):
    result = run("geo_cell", [geo], params=params, arrow_type=GEO, output="geo_h3")
    cell, res = result.columns["geo_h3"].to_pylist()[0], result.columns["geo_h3_res"].to_pylist()[0]
    assert res == expected_res
    if expected_res is None:
        assert cell is None
    else:
        assert cell == h3.latlng_to_cell(geo["lat"], geo["lon"], expected_res)
        assert str(geo["lat"]) not in cell
    assert result.rejects == {}


@pytest.mark.parametrize("geo, message", [
    ({"lat": math.nan, "lon": 71.4}, "lat/geo.lon"),                     # NaN latitude
    ({"lat": 51.1, "lon": math.inf}, "lat/geo.lon"),                     # infinite longitude
    ({"lat": 91.0, "lon": 71.4}, "lat/geo.lon"),                         # out of range
    ({"lat": 51.1, "lon": None}, "lat/geo.lon"),                         # missing longitude
    ({"lat": 51.1, "lon": 71.4, "accuracy_m": math.inf}, "accuracy_m"),  # infinite accuracy
])
def test_bad_points_rejected(geo, message):
    result = run("geo_cell", [{"lat": 51.1, "lon": 71.4}, geo], arrow_type=GEO, output="geo_h3")
    assert set(result.rejects) == {1}
    code, reason = result.rejects[1]
    assert code == INVALID_VALUE and message in reason


def test_absent_geo_is_null_not_rejected_and_drop_emits_nothing():
    result = run("geo_cell", [None], arrow_type=GEO, output="geo_h3")
    assert result.columns["geo_h3"].to_pylist() == [None] and result.rejects == {}
    assert run("geo_cell", [{"lat": 1.0, "lon": 1.0}], arrow_type=GEO, params={"drop": True}).columns == {}


def test_min_resolution_above_resolution_refused():
    from pipeline.operators.geo_cell import GeoCellParams
    with pytest.raises(ValueError):
        GeoCellParams.model_validate({"resolution": 5, "min_resolution": 7})
