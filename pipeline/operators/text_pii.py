"""`text_pii`: remove personal data from free text (Presidio-based engine, offline; keyed pseudonyms optional)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator

from pipeline.keys.pseudonym import pseudonym
from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult

TEXT_ENGINE = "text_pii_engine"
# Entity types the text PII engine can name (checked against the engine by tests/operators/test_text_pii.py).
TEXT_ENTITY_TYPES = frozenset({"IIN", "BIN", "PHONE", "IBAN", "CARD", "EMAIL", "IP_ADDRESS", "URL", "PERSON",
                               "LOCATION", "ORGANIZATION"})


class TextPiiParams(OperatorParams):
    language: Literal["ru", "kk"] = "ru"
    actions: dict[str, Literal["replace", "pseudonymize", "redact"]] = Field(
        default_factory=lambda: {"DEFAULT": "replace"}, description="entity type → action; DEFAULT is the fallback")
    use_ner: bool = False
    max_length: int = Field(2000, ge=1, le=100_000, description="longer text is cut before analysis")

    @field_validator("actions")
    @classmethod
    def _known_entities(cls, actions: dict) -> dict:
        unknown = sorted(set(actions) - TEXT_ENTITY_TYPES - {"DEFAULT"})
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {sorted(TEXT_ENTITY_TYPES)} and DEFAULT")
        return actions


class TextPii(Operator):
    name = "text_pii"
    Params = TextPiiParams

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        engine = ctx.services.get(TEXT_ENGINE)
        if engine is None:
            from pipeline.text_pii.engine import TextPiiEngine
            engine = ctx.services[TEXT_ENGINE] = TextPiiEngine.from_config(use_ner=self.params.use_ner)
        out: list[str | None] = [None] * len(values)
        for key_idx in np.unique(ctx.key_index):
            if key_idx < 0:
                continue
            secret = ctx.ring.keys[key_idx].secret
            rows = np.flatnonzero(ctx.key_index == key_idx)
            texts = [None if values[r] is None else str(values[r])[: self.params.max_length] for r in rows]

            def token(entity_type: str, value: str, _secret=secret) -> str:
                return pseudonym(_secret, "text:" + entity_type, value, 12)  # the engine wraps it as <TYPE:token>

            cleaned = engine.anonymize_batch(texts, actions=self.params.actions, pseudonymize=token,
                                             language=self.params.language)
            for row, text in zip(rows, cleaned):
                out[row] = text
        return OperatorResult({self.output: pa.array(out, type=pa.string())})
