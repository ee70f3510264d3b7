"""A deployment's districts as H3 cells: which district (or "several districts", or "outside") a cell is in.

Pandas-free, so the streaming roll-up (pipeline/kanon/hierarchy.py) can use it in the worker process as well as
the lake views, the people release and the extract's builder (pipeline/hierarchies/districts.py).

A deployment supplies its districts as a GeoJSON FeatureCollection of (Multi)Polygons, one feature per district,
with the name in a feature property (default `name`) and, optionally, the city in the collection's `name`.
Cells are assigned with H3's own polygon fill (`h3.geo_to_cells`: a cell belongs to the polygon holding its
centre), at the finest resolution the pipeline publishes (8 by default): every such cell lies in exactly one
district or outside all of them.

A coarser cell (a roll-up to resolution 7 or 6, or a low-accuracy position) is assigned from its children at
that resolution. When they all lie in one district it is that district; when they lie in several districts (or
partly outside the city) it becomes "<city>: several districts", a label of its own one level below the city.
Its events are never split between districts by area: that would invent numbers the release did not publish.
Cells whose children all lie outside every polygon become "outside <city>".
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import h3

DEFAULT_RESOLUTION = 8


class DistrictsError(ValueError):
    """The districts file is missing or malformed (the message names the file and the feature)."""


@dataclass(frozen=True, eq=False)  # identity equality and hash: a map is immutable and used as a cache key
class DistrictMap:
    """Cells at `resolution` → district name, for one city."""

    city: str
    names: tuple[str, ...]
    resolution: int
    cells: dict[str, str]

    @property
    def several(self) -> str:
        return f"{self.city}: several districts"

    @property
    def outside(self) -> str:
        return f"outside {self.city}"

    def district_of(self, cell: str) -> str | None:
        """District label of an H3 cell (see the module docstring), or of a district label itself (a value
        already rolled up to its district); None for anything else (the city, `*`, not a cell)."""
        if cell in self._labels:
            return cell
        return _district_of(self, cell)

    @functools.cached_property
    def _labels(self) -> frozenset[str]:
        return frozenset((*self.names, self.several, self.outside))

    def city_of(self, district: str) -> str:
        """Label one level up: the city for its districts (and for "several districts"), else unchanged."""
        return self.outside if district == self.outside else self.city


@functools.lru_cache(maxsize=100_000)
def _district_of(districts: DistrictMap, cell: str) -> str | None:
    try:
        if not h3.is_valid_cell(cell):
            return None
        resolution = h3.get_resolution(cell)
    except (TypeError, ValueError, h3.H3BaseException):
        return None
    if resolution >= districts.resolution:
        return districts.cells.get(h3.cell_to_parent(cell, districts.resolution), districts.outside)
    found = {districts.cells.get(child, districts.outside) for child in h3.cell_to_children(cell, districts.resolution)}
    return found.pop() if len(found) == 1 else districts.several


def load_districts(path: str | Path, name_property: str = "name", city: str | None = None,
                   resolution: int = DEFAULT_RESOLUTION) -> DistrictMap:
    """Read and check a districts GeoJSON; every error names the file and the feature."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistrictsError(f"districts: file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise DistrictsError(f"districts: {path} is not readable GeoJSON ({exc})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise DistrictsError(f"districts: {path} must be a GeoJSON FeatureCollection")
    if not 0 <= resolution <= 15:
        raise DistrictsError(f"districts: resolution {resolution} is not an H3 resolution (0–15)")
    cells: dict[str, str] = {}
    names: list[str] = []
    for i, feature in enumerate(document.get("features") or []):
        label = ((feature or {}).get("properties") or {}).get(name_property)
        geometry = (feature or {}).get("geometry") or {}
        if not isinstance(label, str) or not label.strip():
            raise DistrictsError(f"districts: {path} feature {i} has no {name_property!r} property")
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise DistrictsError(f"districts: {path} feature {label!r} is a {geometry.get('type')}, not a polygon")
        if label in names:
            raise DistrictsError(f"districts: {path} names district {label!r} twice")
        try:
            filled = h3.geo_to_cells(geometry, resolution)
        except (ValueError, TypeError, h3.H3BaseException) as exc:
            raise DistrictsError(f"districts: {path} feature {label!r} has an invalid polygon ({exc})") from None
        overlap = next((c for c in filled if c in cells), None)
        if overlap is not None:
            raise DistrictsError(f"districts: {path} districts {cells[overlap]!r} and {label!r} overlap")
        names.append(label)
        cells.update(dict.fromkeys(filled, label))
    if not names:
        raise DistrictsError(f"districts: {path} has no features")
    city = city or document.get("name") or "city"
    return DistrictMap(str(city), tuple(names), resolution, cells)




@functools.lru_cache(maxsize=16)
def cached_districts(path: str, name_property: str = "name", city: str | None = None,
                     resolution: int = DEFAULT_RESOLUTION) -> DistrictMap:
    """One map per file and parameters per process (the release asks for it per value)."""
    return load_districts(path, name_property, city, resolution)
