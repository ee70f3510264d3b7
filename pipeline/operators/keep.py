"""`keep`: pass a scalar field through unchanged (as a string, or a declared type)."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)

_TYPES = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


class KeepParams(OperatorParams):
    type: Literal["string", "int", "float", "bool"] = "string"


class Keep(Operator):
    name = "keep"
    Params = KeepParams

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, _TYPES[self.params.type])]

    def apply(self, values: pa.Array | list, ctx: BatchContext) -> OperatorResult:
        target = _TYPES[self.params.type]
        if isinstance(values, pa.Array) and values.type == target:
            return OperatorResult({self.output: values})  # already the declared type: zero-copy pass-through
        if isinstance(values, pa.Array):
            values = values.to_pylist()
        if self.params.type == "string":
            values = [None if v is None else str(v) for v in values]
        return OperatorResult({self.output: pa.array(values, type=target)})
