"""Pure batch kernel: validated events in, one Arrow table of de-identified columns + rejects out (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.columns import DATE_COLUMN, KEY_ID_COLUMN, POLICY_VERSION_COLUMN
from pipeline.common.event import EVENT_RAW, EVENT_TIME_MS, TypedEvents, convert_rows
from pipeline.common.rejects import INVALID_VALUE, Reject
from pipeline.keys.ring import KeyRing
from pipeline.operators.base import BatchContext, Operator
from pipeline.policy.loader import CompiledPolicy

NO_KEY = "no_key_for_event_time"
KEY_RETIRED = "key_retired"  # the event's epoch has a retired key: it pseudonymizes nothing new
_DAY_MS = 86_400_000


@dataclass
class PseudonymizedBatch:
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)  # input row of each reject, in the same order


def output_schema(policy: CompiledPolicy) -> pa.Schema:
    return policy.output_schema().append(pa.field(DATE_COLUMN, pa.string()))


def _getter(path: str) -> Callable[[dict], Any]:
    parts = path.split(".")

    def get(event: dict):
        node: Any = event
        for part in parts:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node
    return get


def _free_form_values(events: list, path: str) -> list:
    if isinstance(events, TypedEvents) and path in events.free_form:
        return events.free_form[path]  # decoded with the columns: no dict is built
    if "." not in path:
        try:
            return list(map(dict.get, events, repeat(path)))  # the common case: one C-level pass, no path walk
        except TypeError:  # an event that is not a dict (unvalidated input)
            pass
        try:
            return [e.get(path) for e in events]
        except AttributeError:  # an event that is not an object
            pass
    get = _getter(path)
    return [get(e) for e in events]


def _to_struct(events: list, struct_type: pa.StructType) -> tuple[pa.StructArray, list[int]]:
    """All typed fields of the batch as one struct array; rows whose values do not fit the schema types are
    converted as empty and returned to be rejected (validated events always fit: this is the fuzz path)."""
    return convert_rows(events, struct_type)


def _covers(given: pa.DataType, needed: pa.DataType) -> bool:
    """Whether the validator's struct has every field (and nested field) the plan reads, with the same types."""
    if not pa.types.is_struct(needed):
        return given == needed
    if not pa.types.is_struct(given):
        return False
    for i in range(needed.num_fields):
        want = needed.field(i)
        index = given.get_field_index(want.name)
        if index < 0 or not _covers(given.field(index).type, want.type):
            return False
    return True


class _Columns:
    """Column lookup by dotted path into the converted struct (children flattened once, nulls propagated)."""

    def __init__(self, rows: pa.StructArray):
        self._flat: dict[str, pa.Array] = {}
        self._add("", rows)

    def _add(self, prefix: str, array: pa.StructArray) -> None:
        for i, child in enumerate(array.flatten()):
            self._flat[prefix + array.type.field(i).name] = child

    def get(self, path: str) -> pa.Array:
        if path not in self._flat:
            parent, _, _ = path.rpartition(".")
            self._add(parent + ".", self.get(parent))
        return self._flat[path]


def _repeat(value: str | None, size: int) -> pa.Array:
    return pa.array([value], type=pa.string()).take(np.zeros(size, dtype=np.int32))


def _raw_bytes(event: Any) -> bytes:
    if isinstance(event, dict) and isinstance(event.get(EVENT_RAW), bytes):
        return event[EVENT_RAW]
    raw = {k: v for k, v in event.items() if k not in (EVENT_TIME_MS, EVENT_RAW)} if isinstance(event, dict) else event
    try:
        return orjson.dumps(raw, default=str)
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits (only in unvalidated input)
        return json.dumps(raw, default=str, ensure_ascii=False).encode("utf-8", "replace")


def pseudonymize_batch(events: list[dict], policy: CompiledPolicy, ring: KeyRing,
                       services: dict | None = None, source: dict | None = None,
                       columns: pa.StructArray | None = None) -> PseudonymizedBatch:
    """Apply every operator of the policy column-wise; rows an operator rejects are removed and dead-lettered.

    Fields the policy does not name never reach the output (data minimisation). `columns` is the validator's
    Arrow form of the same events (ValidatedBatch.columns); given, the dicts are not converted again.
    """
    schema = output_schema(policy)
    source = source or {}
    if not events:
        return PseudonymizedBatch(schema.empty_table())
    plan = policy.reads
    if columns is not None and len(columns) == len(events) and _covers(columns.type, plan.struct_type):
        struct, misfits = columns, []
    else:
        struct, misfits = _to_struct(list(events), plan.struct_type)
    columns_in = _Columns(struct)
    raw_times = columns_in.get(EVENT_TIME_MS)
    times = pc.fill_null(raw_times, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    key_index = ring.key_index_for_times(times)
    if raw_times.null_count:
        key_index[raw_times.is_null().to_numpy(zero_copy_only=False)] = -1
    rejected: dict[int, tuple[str, str]] = {
        row: (INVALID_VALUE, "a field's value does not have the type telemetry-event.v1 declares") for row in misfits}
    retired = ring.retired_for_times(times)
    for row in np.flatnonzero(key_index < 0).tolist():
        rejected.setdefault(row, (KEY_RETIRED, "the key of the event's epoch is retired") if retired[row] else
                            (NO_KEY, "no usable pseudonymization key covers the event time (missing or destroyed)"))
    ctx = BatchContext(times, key_index, ring, services if services is not None else {})
    for op in policy.operators:  # work another process can do meanwhile (text PII) starts first
        if op.reads_values and op.field_path not in plan.free_form and type(op).prefetch is not Operator.prefetch:
            op.prefetch(columns_in.get(op.field_path), ctx)
    columns: dict[str, pa.Array] = {}
    for op in policy.operators:
        if not op.reads_values:
            values = pa.nulls(len(events))
        elif op.field_path in plan.free_form:
            values = _free_form_values(events, op.field_path)
        else:
            values = columns_in.get(op.field_path)
        result = op.apply(values, ctx)
        columns.update(result.columns)
        for row, reason in result.rejects.items():
            rejected.setdefault(row, reason)
    size = len(events)
    key_ids = pa.array([k.key_id for k in ring.keys] + [None], type=pa.string())
    columns[POLICY_VERSION_COLUMN] = _repeat(policy.version, size)
    columns[KEY_ID_COLUMN] = key_ids.take(np.where(key_index < 0, len(ring.keys), key_index))
    days, day_of_row = np.unique(times // _DAY_MS, return_inverse=True)
    day_text = pc.strftime(pa.array(days * _DAY_MS, type=pa.timestamp("ms", tz="UTC")), "%Y-%m-%d")
    columns[DATE_COLUMN] = day_text.take(day_of_row.astype(np.int32))
    table = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
    rejects = []
    if rejected:
        keep = np.ones(size, dtype=bool)
        keep[list(rejected)] = False
        table = table.filter(pa.array(keep))
        for row, (code, reason) in sorted(rejected.items()):
            rejects.append(Reject(code, reason, _raw_bytes(events[row]), source))
    return PseudonymizedBatch(table, rejects, sorted(rejected))
