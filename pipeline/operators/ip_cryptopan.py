"""`ip_cryptopan`: prefix-preserving keyed IP anonymization (Crypto-PAn via yacryptopan), key per epoch."""

from __future__ import annotations

import hmac

import pyarrow as pa
from pydantic import Field
from yacryptopan import CryptoPAn

from pipeline.common.rejects import INVALID_IP
from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import BoundedCache, as_strings, distinct_per_key
from pipeline.operators.ip_address import parse_ip

CACHE_ENTRIES = 50_000  # per key epoch; Crypto-PAn costs one AES per address bit, so repeats are worth keeping


class IpCryptoPanParams(OperatorParams):
    reject_non_global: bool = Field(True)


class IpCryptoPan(Operator):
    name = "ip_cryptopan"
    Params = IpCryptoPanParams

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._engines: dict[str, tuple[bytes, CryptoPAn, BoundedCache]] = {}

    def default_output(self, field_path: str) -> str:
        return "ip_cryptopan"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def _engine(self, key_id: str, secret: bytes) -> tuple[CryptoPAn, BoundedCache]:
        held = self._engines.get(key_id)
        if held is None or held[0] is not secret:
            # Derive a dedicated 32-byte Crypto-PAn key so the HMAC pseudonym key is never used for two purposes.
            engine = CryptoPAn(hmac.digest(secret, b"anonpipe/cryptopan/v1", "sha256"))
            held = self._engines[key_id] = (secret, engine, BoundedCache(CACHE_ENTRIES))
        return held[1], held[2]

    def _anonymize(self, engine: CryptoPAn, text: str) -> tuple[str | None, str | None]:
        address = parse_ip(text, self.params.reject_non_global)
        return (None, address) if isinstance(address, str) else (engine.anonymize(str(address)), None)

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        distinct = distinct_per_key(as_strings(values), ctx.key_index)

        def anonymized(key_idx: int, uniques: list) -> list[tuple[str | None, str | None]]:
            key = ctx.ring.keys[key_idx]
            engine, cache = self._engine(key.key_id, key.secret)
            return cache.lookup(uniques, lambda missing: [self._anonymize(engine, k) for k in missing])
        slots = [slot or (None, None) for slot in distinct.compute(anonymized)]
        rejects = {}
        for row in distinct.rows_where([reason is not None for _, reason in slots]):
            rejects[int(row)] = (INVALID_IP, slots[distinct.row_slots[row].as_py()][1])
        return OperatorResult({self.output: distinct.spread([out for out, _ in slots], pa.string())}, rejects)
