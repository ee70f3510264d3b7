"""`geo_cell`: coordinates → H3 cell (default resolution 8); coarser when the fix is less accurate than the cell."""

from __future__ import annotations

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from h3.api.basic_int import latlng_to_cell as latlng_to_cell_int
from pydantic import Field, model_validator

from pipeline.common.rejects import INVALID_VALUE
from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)


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

    def _resolutions(self, accuracy: np.ndarray, accuracy_known: np.ndarray) -> np.ndarray:
        """Vectorized resolution_for_accuracy: -1 where even min_resolution is finer than the fix."""
        finest, coarsest = self.params.resolution, self.params.min_resolution
        # Edge lengths shrink as resolution grows: the usable resolutions are coarsest..r*, and r* is the answer.
        edges = np.array([h3.average_hexagon_edge_length(r, unit="m") for r in range(finest, coarsest - 1, -1)])
        usable = len(edges) - np.searchsorted(edges, accuracy, side="left")
        return np.where(accuracy_known, coarsest + usable - 1, finest)

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        if self.params.drop:
            return OperatorResult({})
        size = len(values)
        children = {values.type.field(i).name: child for i, child in enumerate(values.flatten())}
        present = values.is_valid().to_numpy(zero_copy_only=False)
        lat, lat_known = _floats(children.get("lat"), size)
        lon, lon_known = _floats(children.get("lon"), size)
        accuracy, accuracy_known = _floats(children.get("accuracy_m"), size)
        with np.errstate(invalid="ignore"):
            coordinates_ok = (lat_known & lon_known & np.isfinite(lat) & np.isfinite(lon)
                              & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        bad_coordinates = present & ~coordinates_ok
        bad_accuracy = present & coordinates_ok & accuracy_known & ~np.isfinite(accuracy)
        rejects = {int(r): (INVALID_VALUE, "geo.lat/geo.lon not finite coordinates in range")
                   for r in np.flatnonzero(bad_coordinates)}
        rejects.update({int(r): (INVALID_VALUE, "geo.accuracy_m is not a finite number")
                        for r in np.flatnonzero(bad_accuracy)})
        with np.errstate(invalid="ignore"):
            resolution = self._resolutions(np.nan_to_num(accuracy, nan=0.0, posinf=0.0), accuracy_known)
        rows = np.flatnonzero(present & coordinates_ok & ~bad_accuracy & (resolution >= self.params.min_resolution))
        cells = np.zeros(size, dtype=np.uint64)
        # One C call per point: exact coordinates (no rounding), so no two points share a cache entry anyway.
        cells[rows] = list(map(latlng_to_cell_int, lat[rows].tolist(), lon[rows].tolist(), resolution[rows].tolist()))
        has_cell = np.zeros(size, dtype=bool)
        has_cell[rows] = True
        return OperatorResult({self.output: _hex_cells(cells, has_cell),
                               f"{self.output}_res": pa.array(resolution.astype(np.int8), mask=~has_cell)}, rejects)


def _floats(child: pa.Array | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN for nulls, validity)."""
    if child is None:
        return np.full(size, np.nan), np.zeros(size, dtype=bool)
    known = child.is_valid().to_numpy(zero_copy_only=False)
    values = pc.cast(child, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return np.where(known, values, np.nan), known


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_CELL_CHARS = 15  # an H3 cell index (mode 1, top bits 0) prints as exactly 15 hex digits


def _hex_cells(cells: np.ndarray, valid: np.ndarray) -> pa.Array:
    """H3 indexes as lowercase hex strings (h3's string form), built in numpy rather than per row."""
    shifts = np.arange(4 * (_CELL_CHARS - 1), -1, -4, dtype=np.uint64)
    digits = _HEX[((cells[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    offsets = np.where(valid, _CELL_CHARS, 0).cumsum()
    offsets = np.concatenate([[0], offsets]).astype(np.int32)
    data = digits[valid].tobytes()
    return pa.Array.from_buffers(pa.string(), len(cells), [pa.array(valid).buffers()[1], pa.py_buffer(offsets),
                                                            pa.py_buffer(data)], null_count=int((~valid).sum()))
