"""District hierarchy builder: `districts:PATH.geojson` rolls H3 cells up to their district, then the city, then `*`.

The map itself (which cell is in which district, what a spanning cell becomes) is pipeline/common/districts.py.
Parameters: `districts:PATH`, `districts:PATH,resolution=R`, or the policy form
`districts:geojson=PATH;city=NAME;name_property=KEY` (what `spec_from_policy` writes for a `kind: districts` ladder).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from pipeline.common.districts import DEFAULT_RESOLUTION, DistrictMap, DistrictsError, load_districts
from pipeline.hierarchies.base import HierarchyError

name = "districts"
__all__ = ["DistrictMap", "load_districts", "parse_params", "levels", "generalize"]


def parse_params(params: str, defaults: Mapping[str, str] | None = None) -> dict:
    """Read and check the GeoJSON here, once."""
    options = {"resolution": str(DEFAULT_RESOLUTION)}
    if "=" in params.split(",")[0].split(";")[0]:
        pairs = [p for p in params.replace(",", ";").split(";") if p.strip()]
        path = None
    else:
        path, _, rest = params.partition(",")
        pairs = [p for p in rest.split(",") if p.strip()]
    for pair in pairs:
        key, _, value = pair.partition("=")
        key = key.strip()
        if key not in ("geojson", "city", "name_property", "resolution", "resolutions") or not value.strip():
            raise HierarchyError(f"districts: unknown parameter {pair!r}; give districts:PATH[,resolution=R]")
        options[key] = value.strip()
    path = (path or options.get("geojson") or "").strip()
    if not path:
        raise HierarchyError("districts: give the GeoJSON file, e.g. districts:astana-districts.geojson")
    if not options["resolution"].isdigit():
        raise HierarchyError(f"districts: resolution {options['resolution']!r} is not a number")
    try:
        return {"districts": load_districts(path, options.get("name_property", "name"), options.get("city"),
                                            int(options["resolution"]))}
    except DistrictsError as exc:
        raise HierarchyError(str(exc)) from None


def levels(params: dict) -> int:
    """District, then city (then the registry's `*`)."""
    return 2


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """Each cell's district (level 1) or city (level 2); a value that is not a cell is an error."""
    districts: DistrictMap = params["districts"]
    out = []
    for value in values:
        label = districts.district_of(str(value))
        if label is None:
            raise HierarchyError(f"{value!r} is not a valid H3 cell")
        out.append(label if level == 1 else districts.city_of(label))
    return np.array(out, dtype=object)
