"""`text_pii`: remove personal data from free text (Presidio-based engine, offline; keyed pseudonyms optional)."""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)

# Keys of the shared engines in BatchContext.services: one engine per NER setting.
TEXT_ENGINE = "text_pii_engine"
TEXT_ENGINE_NER = "text_pii_engine+ner"
# Key of an optional helper process (pipeline.text_pii.offload.TextPiiProcess, without NER): when the services
# hold one, new texts are cleaned there while the kernel computes the other columns.
TEXT_PROCESS = "text_pii_process"
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
        self._pending: tuple | None = None  # what prefetch started for the batch whose apply comes next

    def _cache(self, key_id: str, secret: bytes) -> BoundedCache:
        held = self._caches.get(key_id)
        if held is None or held[0] is not secret:
            held = self._caches[key_id] = (secret, BoundedCache(CACHE_ENTRIES, CACHE_CHARACTERS))
        return held[1]

    def _engine(self, ctx: BatchContext):
        # One engine per setting, shared by every text field that uses it. Built on the first batch, not when the
        # policy loads: Presidio costs seconds and hundreds of MB, and commands that only read the policy (forget,
        # keys retire) never run it; its parameters are still validated at load (TextPiiParams).
        service = TEXT_ENGINE_NER if self.params.use_ner else TEXT_ENGINE
        engine = ctx.services.get(service)
        if engine is None:
            from pipeline.text_pii.engine import TextPiiEngine
            engine = ctx.services[service] = TextPiiEngine.from_config(use_ner=self.params.use_ner)
        return engine

    def _texts(self, values: pa.Array) -> pa.Array:
        texts = as_strings(values)
        if texts.null_count < len(texts) and (pc.max(pc.utf8_length(texts)).as_py() or 0) > self.params.max_length:
            texts = pc.utf8_slice_codeunits(texts, 0, self.params.max_length)  # longer text is cut first
        return texts

    def prefetch(self, values: pa.Array, ctx: BatchContext) -> None:
        """Hand the batch's texts missing from the cache to the helper process, if the services hold one."""
        self._pending = None
        helper = ctx.services.get(TEXT_PROCESS)
        if helper is None or self.params.use_ner:
            return
        texts = self._texts(values)
        if texts.null_count == len(texts):
            return
        distinct = distinct_per_key(texts, ctx.key_index)
        submitted = {}
        for key_idx, uniques, _ in distinct.groups:
            key = ctx.ring.keys[key_idx]
            missing = self._cache(key.key_id, key.secret).misses(uniques)
            if missing:
                chunks = helper.submit(missing, self.params.actions, key.secret, self.params.language)
                if chunks is not None:
                    submitted[key_idx] = (missing, chunks)
        self._pending = (values, ctx, texts, distinct, submitted)

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] is values and pending[1] is ctx:
            _, _, texts, distinct, submitted = pending
        else:
            texts, distinct, submitted = self._texts(values), None, {}
        if texts.null_count == len(texts):
            return OperatorResult({self.output: texts})
        if distinct is None:
            distinct = distinct_per_key(texts, ctx.key_index)

        def cleaned(key_idx: int, uniques: list) -> list[str | None]:
            key = ctx.ring.keys[key_idx]

            def token(entity_type: str, value: str) -> str:
                return pseudonym(key.secret, "text:" + entity_type, value, 12)  # the engine wraps it as <TYPE:token>

            def here(batch: list[str]) -> list[str | None]:
                return self._engine(ctx).anonymize_batch(batch, actions=self.params.actions, pseudonymize=token,
                                                         language=self.params.language)

            def clean(batch: list[str]) -> list[str | None]:
                helped = submitted.get(key_idx)
                if helped is None or helped[0] != batch:
                    return here(batch)
                chunks = helped[1]
                results: list = [None] * len(chunks)
                # The last chunks the helper has not started are cleaned here meanwhile; the rest come from it.
                last = len(chunks) - 1
                while last >= 0 and chunks[last][1].cancel():
                    results[last] = here(chunks[last][0])
                    last -= 1
                for k in range(last + 1):
                    try:
                        results[k] = chunks[k][1].result()
                    except Exception as exc:  # noqa: BLE001 - the helper failed: the same work in process
                        log.warning("text PII helper process failed (%s); cleaning the texts here", type(exc).__name__)
                        results[k] = here(chunks[k][0])
                return [text for part in results for text in part]
            return self._cache(key.key_id, key.secret).lookup(uniques, clean)
        return OperatorResult({self.output: distinct.spread(distinct.compute(cleaned), pa.string())})
