"""What a policy's operators read from an event, with the Arrow types to convert it to (built when it loads)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.common.event import EVENT_TIME_MS
from pipeline.operators.base import Operator

_ARROW_SCALARS = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}


def arrow_type(node: dict) -> pa.DataType | None:
    """The Arrow type of a JSON-schema node, or None for free-form values (kept as Python objects)."""
    kinds = node.get("type")
    kinds = [k for k in ([kinds] if isinstance(kinds, str) else kinds or []) if k != "null"]
    if len(kinds) != 1:
        return None
    if kinds[0] == "object":
        if "additionalProperties" in node or not node.get("properties"):
            return None
        children = [(name, arrow_type(sub)) for name, sub in node["properties"].items()]
        if any(t is None for _, t in children):
            return None
        return pa.struct(children)
    return _ARROW_SCALARS.get(kinds[0])


@dataclass(frozen=True)
class ReadPlan:
    """How to pull every column the policy reads out of a batch of event dicts."""

    struct_type: pa.StructType  # typed top-level fields, converted in one C++ pass by pa.array
    free_form: tuple[str, ...]  # operator field paths handed over as Python values


def read_plan(operators: Iterable[Operator]) -> ReadPlan:
    """The fields `operators` read: typed ones as one Arrow struct (only the children read), the rest free-form."""
    properties = load_schema(TELEMETRY_EVENT_V1)["properties"]
    needed: dict[str, set[str] | None] = {}  # top-level field → children read (None: the whole object)
    free_form = []
    for op in operators:
        if not op.reads_values:
            continue
        top, _, child = op.field_path.partition(".")
        typed = arrow_type(properties[top]) if top in properties else None
        if typed is None:
            free_form.append(op.field_path)
        elif child and "." not in child and needed.get(top, set()) is not None:
            needed.setdefault(top, set()).add(child)
        else:
            needed[top] = None
    fields = {EVENT_TIME_MS: pa.int64()}
    for top, children in needed.items():
        typed = arrow_type(properties[top])
        # Convert only what operators read (app.build, say, is never touched): conversion is the kernel's
        # largest fixed cost per event.
        fields[top] = typed if children is None else pa.struct([typed.field(c) for c in sorted(children)])
    return ReadPlan(pa.struct(list(fields.items())), tuple(free_form))
