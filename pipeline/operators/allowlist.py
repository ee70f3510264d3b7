"""`allowlist`: keep only listed keys of an object (and, per key, only listed values) as a JSON string."""

from __future__ import annotations

import json
import re
from functools import partial

import orjson
import pyarrow as pa
from pydantic import Field, model_validator

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
    columns: list[str] = Field(
        default_factory=list, description="keys also written as their own string column, named as the key "
                                          "(what the k-anonymity stage can use as a dimension)")

    @model_validator(mode="after")
    def _columns_are_keys(self):
        unknown = [c for c in self.columns if c not in self.keys]
        if unknown:
            raise ValueError(f"columns names {unknown[0]!r}, which is not one of the allowed keys")
        return self


class Allowlist(Operator):
    name = "allowlist"
    Params = AllowlistParams

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())] + [pa.field(c, pa.string()) for c in self.params.columns]

    def _with_columns(self, filtered: pa.Array) -> OperatorResult:
        columns = {self.output: filtered}
        if self.params.columns:
            # The kept object's JSON text repeats a lot: each distinct text is parsed once.
            encoded = filtered.dictionary_encode()
            objects = [orjson.loads(t) if t is not None else {} for t in encoded.dictionary.to_pylist()]
            for key in self.params.columns:
                values = pa.array([None if o.get(key) is None else str(o[key]) for o in objects], type=pa.string())
                columns[key] = values.take(encoded.indices)
        return OperatorResult(columns)

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
        if not kept:
            return None
        try:
            return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits (only in unvalidated input): the stdlib writes it
            return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def _one(self, obj) -> str | None:
        return self._filter(obj) if isinstance(obj, dict) else None

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        # Rows often hold the very same object (the typed decode parses each distinct JSON text once): computed
        # once per object, then spread by identity, without printing every row.
        ids = list(map(id, values))
        by_id = dict(zip(ids, values))
        if len(by_id) < len(values):
            results = dict(zip(by_id, self._distinct_results(list(by_id.values()))))
            return self._with_columns(pa.array(list(map(results.__getitem__, ids)), type=pa.string()))
        return self._with_columns(pa.array(self._distinct_results(values), type=pa.string()))

    def _distinct_results(self, values: list) -> list:
        # Objects repeat a lot: computed once per distinct JSON text of the object. Equal texts mean equal
        # keys, values and JSON types (1, 1.0 and true print differently), so equal results, with one exception:
        # NaN and ±inf print as null, like None, so rows whose text holds a null are computed one by one.
        try:
            texts = list(map(_json_text, values))
        except (TypeError, orjson.JSONEncodeError):  # not plain JSON values (never after validation)
            return list(map(self._one, values))
        by_text = {text: self._one(obj) for text, obj in dict(zip(texts, values)).items()}
        out = list(map(by_text.__getitem__, texts))
        if any(b"null" in text for text in by_text):
            for row, text in enumerate(texts):
                if b"null" in text:
                    out[row] = self._one(values[row])
        return out


# The value's JSON text (a C call per row); raises for what JSON cannot hold as such (dataclasses, datetimes,
# subclasses of str/int/dict/list), which then takes the row-by-row path.
_json_text = partial(orjson.dumps, option=orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
                     | orjson.OPT_PASSTHROUGH_SUBCLASS)
