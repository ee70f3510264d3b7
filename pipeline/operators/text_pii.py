"""`text_pii`: remove personal data from free text (Presidio-based engine, offline; keyed pseudonyms optional)."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from pipeline.keys.pseudonym import pseudonym
from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import BoundedCache, as_strings, distinct_per_key

# Keys of the shared engines in BatchContext.services: one engine per NER setting.
TEXT_ENGINE = "text_pii_engine"
TEXT_ENGINE_NER = "text_pii_engine+ner"
# Texts repeat (canned searches, error messages, appeals sent again); results are kept per key epoch, bounded in
# entries and in characters (a text and its cleaned form: about 4 bytes per cached character, ~16 MB at the bound).
# Smaller bounds emptied the cache every few batches and analyzed a fifth of the texts twice.
CACHE_ENTRIES = 32_768
CACHE_CHARACTERS = 4_000_000
# Entity types the text PII engine can name (checked against the engine by tests/operators/test_text_pii.py).
TEXT_ENTITY_TYPES = frozenset({"IIN", "BIN", "PHONE", "IBAN", "CARD", "EMAIL", "IP_ADDRESS", "URL", "PERSON",
                               "LOCATION", "ORGANIZATION", "ADDRESS", "VEHICLE_PLATE", "ID_DOCUMENT"})


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._caches: dict[str, tuple[bytes, BoundedCache]] = {}

    def _cache(self, key_id: str, secret: bytes) -> BoundedCache:
        held = self._caches.get(key_id)
        if held is None or held[0] is not secret:
            held = self._caches[key_id] = (secret, BoundedCache(CACHE_ENTRIES, CACHE_CHARACTERS))
        return held[1]

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        # One engine per setting, shared by every text field that uses it. Built on the first batch, not when the
        # policy loads: Presidio costs seconds and hundreds of MB, and commands that only read the policy (forget,
        # keys retire) never run it; its parameters are still validated at load (TextPiiParams).
        service = TEXT_ENGINE_NER if self.params.use_ner else TEXT_ENGINE
        engine = ctx.services.get(service)
        if engine is None:
            from pipeline.text_pii.engine import TextPiiEngine
            engine = ctx.services[service] = TextPiiEngine.from_config(use_ner=self.params.use_ner)
        texts = as_strings(values)
        if texts.null_count == len(texts):
            return OperatorResult({self.output: texts})
        if (pc.max(pc.utf8_length(texts)).as_py() or 0) > self.params.max_length:  # longer text is cut first
            texts = pc.utf8_slice_codeunits(texts, 0, self.params.max_length)
        distinct = distinct_per_key(texts, ctx.key_index)

        def cleaned(key_idx: int, uniques: list) -> list[str | None]:
            key = ctx.ring.keys[key_idx]

            def token(entity_type: str, value: str) -> str:
                return pseudonym(key.secret, "text:" + entity_type, value, 12)  # the engine wraps it as <TYPE:token>

            def clean(batch: list[str]) -> list[str | None]:
                return engine.anonymize_batch(batch, actions=self.params.actions, pseudonymize=token,
                                              language=self.params.language)
            return self._cache(key.key_id, key.secret).lookup(uniques, clean)
        return OperatorResult({self.output: distinct.spread(distinct.compute(cleaned), pa.string())})
