"""`allowlist`: keep only listed keys of an object (and, per key, only listed values) as a JSON string."""

from __future__ import annotations

import re

import orjson
import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)

# A value allowed "as any" must still look like an identifier: free text could carry personal data.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
OTHER = "other"


class AllowlistParams(OperatorParams):
    keys: dict[str, list[str | int | float | bool] | None] = Field(
        ..., description="key → allowed values (others become 'other'); null = any identifier-like value")


class Allowlist(Operator):
    name = "allowlist"
    Params = AllowlistParams

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def _filter(self, obj: dict) -> str | None:
        kept = {}
        for key, allowed in self.params.keys.items():
            if key not in obj or obj[key] is None:
                continue
            value = obj[key]
            if allowed is None:
                if isinstance(value, (bool, int, float)) or _IDENTIFIER.match(str(value)):
                    kept[key] = value
                else:
                    kept[key] = OTHER
            else:
                kept[key] = value if value in allowed else OTHER
        return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode() if kept else None

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        # Objects repeat a lot; key the per-batch cache on the allowed keys' values *with their types*,
        # because 1, 1.0 and True are equal in Python but serialize differently.
        keys = tuple(self.params.keys)
        cache: dict = {}
        out = []
        for obj in values:
            if not isinstance(obj, dict):
                out.append(None)
                continue
            allowed_values = tuple(map(obj.get, keys))
            signature = (allowed_values, tuple(map(type, allowed_values)))
            try:
                out.append(cache[signature])
            except KeyError:
                result = cache[signature] = self._filter(obj)
                out.append(result)
            except TypeError:  # an unhashable value (not schema-valid): no caching
                out.append(self._filter(obj))
        return OperatorResult({self.output: pa.array(out, type=pa.string())})
