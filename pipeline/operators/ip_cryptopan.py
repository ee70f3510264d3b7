"""`ip_cryptopan`: prefix-preserving keyed IP anonymization (Crypto-PAn via yacryptopan), key per epoch."""

from __future__ import annotations

import hmac

import numpy as np
import pyarrow as pa
from pydantic import Field
from yacryptopan import CryptoPAn

from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult
from pipeline.operators.ip_truncate import parse_ip
from pipeline.validate.rejects import INVALID_IP


class IpCryptoPanParams(OperatorParams):
    reject_non_global: bool = Field(True)


class IpCryptoPan(Operator):
    name = "ip_cryptopan"
    Params = IpCryptoPanParams

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._engines: dict[str, CryptoPAn] = {}

    def default_output(self, field_path: str) -> str:
        return "ip_cryptopan"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def _engine(self, key_id: str, secret: bytes) -> CryptoPAn:
        # Derive a dedicated 32-byte Crypto-PAn key so the HMAC pseudonym key is never used for two purposes.
        if key_id not in self._engines:
            self._engines[key_id] = CryptoPAn(hmac.digest(secret, b"anonpipe/cryptopan/v1", "sha256"))
        return self._engines[key_id]

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        out: list[str | None] = [None] * len(values)
        rejects: dict[int, tuple[str, str]] = {}
        for key_idx in np.unique(ctx.key_index):
            if key_idx < 0:
                continue
            key = ctx.ring.keys[key_idx]
            engine = self._engine(key.key_id, key.secret)
            cache: dict[str, tuple[str | None, str | None]] = {}
            for row in np.flatnonzero(ctx.key_index == key_idx):
                value = values[row]
                if value is None:
                    continue
                if value not in cache:
                    address = parse_ip(value, self.params.reject_non_global)
                    cache[value] = (None, address) if isinstance(address, str) else (engine.anonymize(str(address)), None)
                out[row], reason = cache[value]
                if reason:
                    rejects[int(row)] = (INVALID_IP, reason)
        return OperatorResult({self.output: pa.array(out, type=pa.string())}, rejects)
