"""Helpers of the operator tests: a two-epoch key ring and a one-call way to run an operator on a column."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.operators.base import BatchContext, OperatorResult
from pipeline.operators.registry import operator_class

UTC = dt.UTC
EPOCH_1 = dt.datetime(2026, 10, 1, tzinfo=UTC)
EPOCH_2 = dt.datetime(2026, 11, 1, tzinfo=UTC)
EPOCH_END = dt.datetime(2026, 12, 1, tzinfo=UTC)
T1 = int(dt.datetime(2026, 10, 15, 12, tzinfo=UTC).timestamp() * 1000)  # inside epoch 1
T2 = int(dt.datetime(2026, 11, 15, 12, tzinfo=UTC).timestamp() * 1000)  # inside epoch 2


def two_epoch_ring() -> KeyRing:
    return KeyRing([Key("m20261001", EPOCH_1, EPOCH_2, ACTIVE, b"\x01" * 32),
                    Key("m20261101", EPOCH_2, EPOCH_END, ACTIVE, b"\x02" * 32)])


def run(name: str, values, *, params: dict | None = None, field_path: str = "field", output: str | None = None,
        times: list[int] | None = None, ring: KeyRing | None = None, arrow_type: pa.DataType | None = None,
        services: dict | None = None) -> OperatorResult:
    """Build operator `name` and apply it to `values` (converted to Arrow unless the operator takes Python)."""
    cls = operator_class(name)
    op = cls(field_path, cls.Params.model_validate(params or {}), output)
    ring = ring or two_epoch_ring()
    times_ms = np.array(times if times is not None else [T1] * len(values), dtype=np.int64)
    ctx = BatchContext(times_ms, ring.key_index_for_times(times_ms), ring, services if services is not None else {})
    column = values if name == "allowlist" else pa.array(values, type=arrow_type)
    return op.apply(column, ctx)
