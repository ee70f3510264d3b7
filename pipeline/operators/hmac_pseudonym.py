"""`hmac_pseudonym`: keyed HMAC-SHA256 pseudonym under the key in force at the event's time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from pipeline.keys.pseudonym import pseudonym_map
from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult


class HmacPseudonymParams(OperatorParams):
    length: int = Field(16, ge=8, le=64, description="hex characters kept (16 = 64 bits)")
    domain: str | None = Field(None, description="pseudonym space; defaults to the field path")


class HmacPseudonym(Operator):
    name = "hmac_pseudonym"
    Params = HmacPseudonymParams

    @property
    def domain(self) -> str:
        return self.params.domain or self.field_path

    def default_output(self, field_path: str) -> str:
        return field_path.replace(".", "_").removesuffix("_id") + "_pseudonym"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        out: list[str | None] = [None] * len(values)
        for key_idx in np.unique(ctx.key_index):
            if key_idx < 0:
                continue
            rows = np.flatnonzero(ctx.key_index == key_idx)
            secret = ctx.ring.keys[key_idx].secret
            column = [values[r] for r in rows]
            mapping = pseudonym_map(secret, self.domain, (str(v) for v in column if v is not None),
                                    self.params.length)
            for row, value in zip(rows, column):
                if value is not None:
                    out[row] = mapping[str(value)]
        return OperatorResult({self.output: pa.array(out, type=pa.string())})
