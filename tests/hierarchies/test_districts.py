"""District hierarchy builder on a small synthetic GeoJSON, checked against an independent point-in-polygon test."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import numpy as np
import pytest

from pipeline.hierarchies.base import HierarchyError
from pipeline.common.districts import DistrictsError, load_districts
from pipeline.hierarchies.registry import parse_hierarchy_arg

GEOJSON = Path(__file__).parents[1] / "data" / "districts-synthetic.geojson"
CITY = "Astana (synthetic)"


def inside(lng: float, lat: float, ring: list) -> bool:
    """Ray casting (even-odd rule): written here so the test does not reuse H3's polygon fill."""
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def expected_district(cell: str) -> str:
    lat, lng = h3.cell_to_latlng(cell)
    features = json.loads(GEOJSON.read_text())["features"]
    found = [f["properties"]["name"] for f in features if inside(lng, lat, f["geometry"]["coordinates"][0])]
    assert len(found) <= 1
    return found[0] if found else f"outside {CITY}"


def test_every_cell_of_the_city_is_in_the_district_holding_its_centre():
    districts = load_districts(GEOJSON)
    assert districts.city == CITY and districts.names == ("Northwest", "Northeast", "Southwest", "Southeast")
    grid = {h3.latlng_to_cell(lat, lng, 8) for lat in np.arange(50.95, 51.35, 0.004)
            for lng in np.arange(71.20, 71.70, 0.006)}
    assert len(grid) > 1000
    for cell in grid:
        assert districts.district_of(cell) == expected_district(cell), cell


@pytest.mark.parametrize("lat, lng, resolution, expected", [
    (51.25, 71.30, 7, "Northwest"),             # a coarse cell well inside one district is that district
    (51.06, 71.55, 7, "Southeast"),             # another district
    (51.145, 71.44, 6, f"{CITY}: several districts"),  # the centre, where four districts meet
    (51.145, 71.30, 7, f"{CITY}: several districts"),  # straddles the east-west boundary
    (52.00, 71.40, 7, f"outside {CITY}"),       # far north of every polygon
    (51.20, 71.35, 10, "Northwest"),            # a cell finer than the map's resolution: its resolution-8 parent
])
def test_coarse_and_fine_cells(lat, lng, resolution, expected):
    assert load_districts(GEOJSON).district_of(h3.latlng_to_cell(lat, lng, resolution)) == expected


def test_a_spanning_cell_is_several_districts_exactly_when_its_children_disagree():
    districts = load_districts(GEOJSON)
    for cell in h3.grid_disk(h3.latlng_to_cell(51.145, 71.44, 6), 2):
        children = {expected_district(c) for c in h3.cell_to_children(cell, 8)}
        assert districts.district_of(cell) == (children.pop() if len(children) == 1 else f"{CITY}: several districts")


def test_builder_levels_cell_district_city_star():
    spec = parse_hierarchy_arg(f"geo_h3=districts:{GEOJSON}")
    cells = np.array([h3.latlng_to_cell(51.25, 71.30, 8), h3.latlng_to_cell(51.05, 71.60, 8),
                      h3.latlng_to_cell(51.145, 71.44, 6), h3.latlng_to_cell(52.0, 71.4, 8)], dtype=object)
    hierarchy = spec.materialize(cells)
    assert hierarchy.height == 3
    assert hierarchy.labels[:, 1].tolist() == ["Northwest", "Southeast", f"{CITY}: several districts",
                                               f"outside {CITY}"]
    assert hierarchy.labels[:, 2].tolist() == [CITY, CITY, CITY, f"outside {CITY}"]
    assert set(hierarchy.labels[:, 3]) == {"*"}


def test_builder_refuses_a_value_that_is_not_a_cell():
    spec = parse_hierarchy_arg(f"geo_h3=districts:{GEOJSON}")
    with pytest.raises(HierarchyError, match="not a valid H3 cell"):
        spec.materialize(np.array(["*"], dtype=object))


def write(tmp_path: Path, document) -> Path:
    path = tmp_path / "d.geojson"
    path.write_text(json.dumps(document))
    return path


SQUARE = {"type": "Polygon", "coordinates": [[[71.3, 51.1], [71.4, 51.1], [71.4, 51.2], [71.3, 51.2], [71.3, 51.1]]]}


@pytest.mark.parametrize("document, message", [
    ({"type": "Feature"}, "FeatureCollection"),  # a single feature, not a collection
    ({"type": "FeatureCollection", "features": []}, "no features"),
    ({"type": "FeatureCollection", "features": [{"properties": {}, "geometry": SQUARE}]}, "no 'name' property"),
    ({"type": "FeatureCollection", "features": [{"properties": {"name": "A"},
                                                 "geometry": {"type": "Point", "coordinates": [71.3, 51.1]}}]},
     "not a polygon"),
    ({"type": "FeatureCollection", "features": [{"properties": {"name": "A"}, "geometry": SQUARE},
                                                {"properties": {"name": "A"}, "geometry": SQUARE}]}, "twice"),
    ({"type": "FeatureCollection", "features": [{"properties": {"name": "A"}, "geometry": SQUARE},
                                                {"properties": {"name": "B"}, "geometry": SQUARE}]}, "overlap"),
])
def test_bad_files_are_one_clear_error(tmp_path, document, message):
    with pytest.raises(DistrictsError, match=message):
        load_districts(write(tmp_path, document))


def test_missing_file(tmp_path):
    with pytest.raises(HierarchyError, match="does not exist"):
        parse_hierarchy_arg(f"geo=districts:{tmp_path / 'nope.geojson'}")


def test_stream_and_extract_ladders_agree_for_a_districts_policy():
    """`kind: districts` in a policy: the worker's pandas-free ladder and the extract's builder give the same labels."""
    from pipeline.hierarchies.registry import spec_from_policy
    from pipeline.kanon.hierarchy import generalize
    from pipeline.policy.model import Policy
    policy = Policy.model_validate({"version": "t", "fields": {}, "districts": {"geojson": str(GEOJSON), "city": CITY},
                                    "kanon": {"quasi_identifiers": {"geo_h3": {"kind": "districts"}},
                                              "rollup_order": ["geo_h3"]}})
    ladder = policy.kanon.quasi_identifiers["geo_h3"]
    spec = spec_from_policy("geo_h3", ladder)
    cells = np.array(sorted({h3.latlng_to_cell(lat, lng, res) for lat in np.arange(51.0, 51.3, 0.02)
                             for lng in np.arange(71.25, 71.65, 0.03) for res in (8, 7, 6)}), dtype=object)
    for level in (1, 2):
        assert [generalize(ladder, c, level) for c in cells] == list(spec.generalize(cells, level))
    assert {generalize(ladder, c, 3) for c in cells} == {"*"}
