"""Pure batch kernel: validated events in, one Arrow table of de-identified columns + rejects out (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.keys.ring import KeyRing
from pipeline.lake.layout import DATE_COLUMN
from pipeline.operators.base import BatchContext
from pipeline.policy.loader import CompiledPolicy
from pipeline.validate.core import EVENT_TIME_MS
from pipeline.validate.rejects import Reject

NO_KEY = "no_key_for_event_time"


@dataclass
class PseudonymizedBatch:
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)


def _getter(path: str) -> Callable[[dict], Any]:
    parts = path.split(".")
    if len(parts) == 1:
        return lambda event: event.get(path)

    def get(event: dict):
        node: Any = event
        for part in parts:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node
    return get


def output_schema(policy: CompiledPolicy) -> pa.Schema:
    return policy.output_schema().append(pa.field(DATE_COLUMN, pa.string()))


def pseudonymize_batch(events: list[dict], policy: CompiledPolicy, ring: KeyRing,
                       services: dict | None = None, source: dict | None = None) -> PseudonymizedBatch:
    """Apply every operator of the policy column-wise; rows an operator rejects are removed and dead-lettered.

    Fields the policy does not name never reach the output (data minimisation).
    """
    schema = output_schema(policy)
    source = source or {}
    if not events:
        return PseudonymizedBatch(schema.empty_table())
    times = np.fromiter((e[EVENT_TIME_MS] for e in events), dtype=np.int64, count=len(events))
    key_index = ring.key_index_for_times(times)
    rejected: dict[int, tuple[str, str]] = {
        int(row): (NO_KEY, "no usable pseudonymization key covers the event time (missing or destroyed)")
        for row in np.flatnonzero(key_index < 0)}
    ctx = BatchContext(times, key_index, ring, services if services is not None else {})
    columns: dict[str, pa.Array] = {}
    for op in policy.operators:
        get = _getter(op.field_path)
        result = op.apply([get(e) for e in events], ctx)
        columns.update(result.columns)
        for row, reason in result.rejects.items():
            rejected.setdefault(row, reason)
    key_ids = np.array([k.key_id for k in ring.keys] + [None], dtype=object)
    columns["policy_version"] = pa.array(np.full(len(events), policy.version, dtype=object), type=pa.string())
    columns["key_id"] = pa.array(key_ids[key_index], type=pa.string())
    day_ms = (times // 86_400_000) * 86_400_000
    columns[DATE_COLUMN] = pc.strftime(pa.array(day_ms, type=pa.timestamp("ms", tz="UTC")), "%Y-%m-%d")
    table = pa.table({f.name: columns[f.name] for f in schema}, schema=schema)
    rejects = []
    if rejected:
        keep = np.ones(len(events), dtype=bool)
        keep[list(rejected)] = False
        table = table.filter(pa.array(keep))
        for row, (code, reason) in sorted(rejected.items()):
            raw = {k: v for k, v in events[row].items() if k != EVENT_TIME_MS}
            rejects.append(Reject(code, reason, orjson.dumps(raw), source))
    return PseudonymizedBatch(table, rejects)
