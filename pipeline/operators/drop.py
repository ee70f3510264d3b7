"""`drop`: the field never leaves validation (listing it documents the decision; unlisted fields drop too)."""

from __future__ import annotations

import pyarrow as pa

from pipeline.operators.base import BatchContext, Operator, OperatorResult


class Drop(Operator):
    name = "drop"
    reads_values = False

    def output_schema(self) -> list[pa.Field]:
        return []

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        return OperatorResult({})
