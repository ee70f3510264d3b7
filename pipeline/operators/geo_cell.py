"""`geo_cell`: coordinates → H3 cell (default resolution 8); coarser when the fix is less accurate than the cell."""

from __future__ import annotations

import math

import h3
import pyarrow as pa
from pydantic import Field, model_validator

from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult
from pipeline.validate.rejects import INVALID_VALUE


class GeoCellParams(OperatorParams):
    resolution: int = Field(8, ge=0, le=15, description="finest H3 resolution published (8 ≈ 0.74 km²)")
    min_resolution: int = Field(5, ge=0, le=15, description="coarser than this → location dropped")
    drop: bool = Field(False, description="drop the location entirely")

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_resolution > self.resolution:
            raise ValueError("min_resolution must be <= resolution")
        return self


def resolution_for_accuracy(accuracy_m: float | None, finest: int, coarsest: int) -> int | None:
    """Finest resolution whose cell edge is at least the fix's accuracy radius; None if even `coarsest` is too fine."""
    if accuracy_m is None:
        return finest
    for res in range(finest, coarsest - 1, -1):
        if h3.average_hexagon_edge_length(res, unit="m") >= accuracy_m:
            return res
    return None


class GeoCell(Operator):
    name = "geo_cell"
    Params = GeoCellParams

    def default_output(self, field_path: str) -> str:
        return "geo_h3"

    def output_schema(self) -> list[pa.Field]:
        if self.params.drop:
            return []
        return [pa.field(self.output, pa.string()), pa.field(f"{self.output}_res", pa.int8())]

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        if self.params.drop:
            return OperatorResult({})
        cells: list[str | None] = []
        resolutions: list[int | None] = []
        rejects: dict[int, tuple[str, str]] = {}
        res_cache: dict = {}
        for row, geo in enumerate(values):
            cell = res = None
            if geo is not None:
                lat, lon = geo.get("lat"), geo.get("lon")
                accuracy = geo.get("accuracy_m")
                if not (isinstance(lat, (int, float)) and isinstance(lon, (int, float))
                        and math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
                    rejects[row] = (INVALID_VALUE, "geo.lat/geo.lon not finite coordinates in range")
                elif accuracy is not None and not (isinstance(accuracy, (int, float)) and math.isfinite(accuracy)):
                    rejects[row] = (INVALID_VALUE, "geo.accuracy_m is not a finite number")
                else:
                    if accuracy not in res_cache:
                        res_cache[accuracy] = resolution_for_accuracy(accuracy, self.params.resolution,
                                                                      self.params.min_resolution)
                    res = res_cache[accuracy]
                    if res is not None:
                        cell = h3.latlng_to_cell(lat, lon, res)
            cells.append(cell)
            resolutions.append(res if cell else None)
        return OperatorResult({self.output: pa.array(cells, type=pa.string()),
                               f"{self.output}_res": pa.array(resolutions, type=pa.int8())}, rejects)
