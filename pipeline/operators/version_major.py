"""`version_major`: keep the first N components of a dotted version (app 2.3.1 → "2")."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import as_strings, map_unique


class VersionParams(OperatorParams):
    components: int = Field(1, ge=1, le=4)


class VersionMajor(Operator):
    name = "version_major"
    Params = VersionParams

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        n = self.params.components
        out = map_unique(as_strings(values), lambda v: ".".join(v.split(".")[:n]), pa.string())
        return OperatorResult({self.output: out})
