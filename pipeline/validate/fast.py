"""Column-wise fast check of the common case: events it clears are schema-valid; the rest go to fastjsonschema."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.event import convert_rows

_SCALARS = {"string": pa.string(), "number": pa.float64()}
ANNOTATIONS = {"description", "title", "$schema", "$id", "$comment", "examples", "default"}
_FREE_FORM_VALUE_TYPES = {"string": (str,), "number": (int, float), "boolean": (bool,), "null": (type(None),)}
# fastjsonschema's date-time format (draft 4+), with `\d` narrowed to ASCII digits: RE2's match set is then a
# subset of Python's, so an accepted value is accepted by the reference validator too.
_DATE = (r"[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
         r"|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])"
         r"|(?:[02468][048]|[13579][26])00)-02-29")
FORMATS = {"date-time": r"^(?:" + _DATE + r")(t|T)(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
                         r"(?:[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]|[+-](?:[01][0-9]|2[0-3])[0-5][0-9]|z|Z)$"}
# Patterns passed to RE2 as written must mean the same there as in Python's `re`: only these characters (no
# class escapes such as \d or \w, whose Unicode meaning differs), and a final `$` means end of text in RE2 as
# fastjsonschema's rewrite to `\Z` does in Python.
_SAFE_PATTERN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-^$+*?{}(),|[]:/ ")


class Unsupported(ValueError):
    """The schema uses a keyword the fast check does not implement: every event takes the reference path."""


def schema_types(node: dict) -> list[str]:
    kinds = node.get("type")
    if kinds is None:
        raise Unsupported("node without a type")
    return [kinds] if isinstance(kinds, str) else list(kinds)


def re2_safe_pattern(pattern: str) -> str:
    text = pattern.replace("\\.", "")
    if not set(text) <= _SAFE_PATTERN_CHARS or "\\" in text:
        raise Unsupported(f"pattern {pattern!r} may mean something else in RE2")
    return pattern


@dataclass
class _Leaf:
    """A scalar field and the vectorized form of its keywords."""

    path: tuple[str, ...]
    arrow: pa.DataType
    nullable: bool
    required: bool
    checks: list[Callable[[pa.Array], pa.Array]] = field(default_factory=list)


@dataclass
class _Object:
    """An object with declared properties (an Arrow struct)."""

    path: tuple[str, ...]
    nullable: bool
    required: bool
    leaves: list[_Leaf] = field(default_factory=list)


def _leaf(path: tuple[str, ...], node: dict, required: bool) -> _Leaf:
    kinds = schema_types(node)
    nullable = "null" in kinds
    scalar = [k for k in kinds if k != "null"]
    if len(scalar) != 1 or scalar[0] not in _SCALARS:
        raise Unsupported(f"{'.'.join(path)}: type {kinds}")
    leaf = _Leaf(path, _SCALARS[scalar[0]], nullable, required)
    for key, value in node.items():
        if key in ANNOTATIONS or key == "type":
            continue
        if scalar[0] == "string" and key == "minLength":
            leaf.checks.append(lambda a, n=value: pc.greater_equal(pc.utf8_length(a), n))
        elif scalar[0] == "string" and key == "maxLength":
            leaf.checks.append(lambda a, n=value: pc.less_equal(pc.utf8_length(a), n))
        elif scalar[0] == "string" and key == "pattern":
            leaf.checks.append(lambda a, p=re2_safe_pattern(value): pc.match_substring_regex(a, p))
        elif scalar[0] == "string" and key == "format" and value in FORMATS:
            leaf.checks.append(lambda a, p=FORMATS[value]: pc.match_substring_regex(a, p))
        elif scalar[0] == "string" and key == "enum" and all(isinstance(v, str) or v is None for v in value):
            allowed = pa.array([v for v in value if v is not None], pa.string())
            leaf.checks.append(lambda a, s=allowed: pc.is_in(a, value_set=s))
            leaf.nullable = leaf.nullable and None in value
        elif scalar[0] == "number" and key == "minimum" and isinstance(value, (int, float)):
            leaf.checks.append(lambda a, n=float(value): pc.greater_equal(a, n))
        elif scalar[0] == "number" and key == "maximum" and isinstance(value, (int, float)):
            leaf.checks.append(lambda a, n=float(value): pc.less_equal(a, n))
        else:
            raise Unsupported(f"{'.'.join(path)}: keyword {key}={value!r}")
    if scalar[0] == "number" and (abs(float(node.get("minimum", 0))) >= 2**53
                                  or abs(float(node.get("maximum", 0))) >= 2**53):
        raise Unsupported("bounds beyond float64's exact integers")  # int → float rounding could cross them
    return leaf


def _object(path: tuple[str, ...], node: dict, required: bool) -> _Object:
    kinds = schema_types(node)
    if [k for k in kinds if k != "null"] != ["object"]:
        raise Unsupported(f"{'.'.join(path)}: type {kinds}")
    unknown = set(node) - ANNOTATIONS - {"type", "required", "properties"}
    if unknown:
        raise Unsupported(f"{'.'.join(path)}: keywords {sorted(unknown)}")
    needed = set(node.get("required", []))
    if not needed <= set(node["properties"]):
        raise Unsupported(f"{'.'.join(path)}: a required property is not declared")
    obj = _Object(path, "null" in kinds, required)
    for name, sub in node["properties"].items():
        obj.leaves.append(_leaf((*path, name), sub, name in needed))
    return obj


_ABSENT = object()
_BOOL_FLOATS = pa.array([0.0, 1.0])


def _free_form_check(node: dict) -> Callable[[list], np.ndarray]:
    """Failing rows of an object with only typed additionalProperties (and maxProperties), given its values."""
    kinds = schema_types(node)
    unknown = set(node) - ANNOTATIONS - {"type", "maxProperties", "additionalProperties"}
    extra = node.get("additionalProperties", {})
    extra_kinds = schema_types(extra) if isinstance(extra, dict) else []
    if unknown or not isinstance(extra, dict) or set(extra) - ANNOTATIONS - {"type"} \
            or not set(extra_kinds) <= set(_FREE_FORM_VALUE_TYPES):
        raise Unsupported("free-form object with keywords the fast check does not implement")
    # Exact types, not isinstance: bool is an int in Python, but a JSON Schema "number" is not a boolean.
    allowed = frozenset(t for k in extra_kinds for t in _FREE_FORM_VALUE_TYPES[k])
    most = node.get("maxProperties", float("inf"))
    null_ok = "null" in kinds

    def fails(values: list) -> np.ndarray:
        shape_ok = [v is _ABSENT or (v is None and null_ok) or (type(v) is dict and len(v) <= most) for v in values]
        bad = ~np.array(shape_ok, dtype=bool)
        objects = [v for v in values if type(v) is dict]
        # One set of the value types of the whole batch; rows are looked at only when some type is not allowed.
        if not set(map(type, chain.from_iterable(v.values() for v in objects))) <= allowed:
            bad |= np.array([type(v) is dict and not set(map(type, v.values())) <= allowed for v in values], dtype=bool)
        return bad
    return fails


class FastCheck:
    """Vectorized form of a JSON Schema (the subset telemetry-event.v1 uses).

    Sound, not complete: a row it accepts is accepted by the reference validator (fastjsonschema), a row it
    refuses may still be valid — the caller then asks the reference validator, so reject codes and messages are
    the reference's. Built from the schema; any keyword it does not implement raises Unsupported.
    """

    def __init__(self, schema: dict):
        if schema_types(schema) != ["object"] or set(schema) - ANNOTATIONS - {"type", "required", "properties"}:
            raise Unsupported("top level must be a plain object schema")
        required = set(schema.get("required", []))
        if not required <= set(schema["properties"]):
            raise Unsupported("a required property is not declared")
        self.objects: list[_Object] = []
        self.leaves: list[_Leaf] = []
        self.free_form: list[tuple[str, bool, Callable[[list], np.ndarray]]] = []
        self.absent_only: list[str] = []  # keywords like const: the row is cleared only when the key is absent
        fields = []
        for name, node in schema["properties"].items():
            kinds = node.get("type")
            if kinds is None:
                self.absent_only.append(name)
                if name in required:
                    raise Unsupported(f"{name}: required without a type")
                continue
            kinds = schema_types(node)
            if "object" in kinds and "properties" in node:
                obj = _object((name,), node, name in required)
                self.objects.append(obj)
                fields.append(pa.field(name, pa.struct([pa.field(leaf.path[-1], leaf.arrow) for leaf in obj.leaves])))
            elif "object" in kinds:
                self.free_form.append((name, name in required, _free_form_check(node)))
            else:
                leaf = _leaf((name,), node, name in required)
                self.leaves.append(leaf)
                fields.append(pa.field(name, leaf.arrow))
        self.arrow_type = pa.struct(fields)
        self._number_paths = [leaf.path for obj in self.objects for leaf in obj.leaves if leaf.arrow == pa.float64()]
        self._number_paths += [leaf.path for leaf in self.leaves if leaf.arrow == pa.float64()]

    def _strict_types(self, event: dict) -> bool:
        """What Arrow's conversion lets through: a list for a struct, a boolean for a float."""
        for obj in self.objects:
            value = event.get(obj.path[0])
            if value is not None and type(value) is not dict:
                return False
        for path in self._number_paths:
            node: Any = event
            for part in path:
                node = node.get(part) if type(node) is dict else None
            if type(node) is bool:
                return False
        return True

    def check(self, events: Sequence[dict], raws: Sequence[bytes]) -> tuple[pa.StructArray, np.ndarray, list[int]]:
        """(the events as one Arrow struct of the schema's typed fields, cleared rows, rows that do not convert).

        Rows that do not convert are empty in the struct and never cleared.
        """
        size = len(events)
        struct, misfits = convert_rows(events, self.arrow_type)
        fail = np.zeros(size, dtype=bool)
        fail[misfits] = True
        # Arrow converts a JSON array to a struct and true/false to 1.0/0.0: only rows whose bytes hold a '[' (one
        # memchr over the batch finds none in the common case), or with a number that is exactly 0 or 1, are
        # looked at value by value.
        suspects = np.zeros(size, dtype=bool)
        if b"[" in b"\n".join(raws):
            suspects |= np.fromiter((b"[" in raw for raw in raws), dtype=bool, count=size)
        children = {struct.type.field(i).name: child for i, child in enumerate(struct.flatten())}
        for path in self._number_paths:
            column = children[path[0]]
            for part in path[1:]:
                column = column.field(part)  # parent nulls do not matter: a null row's value is never 0 or 1
            suspects |= pc.fill_null(pc.is_in(column, value_set=_BOOL_FLOATS), False).to_numpy(zero_copy_only=False)
        for row in np.flatnonzero(suspects & ~fail).tolist():
            if not self._strict_types(events[row]):
                fail[row] = True
        for name in self.absent_only:
            fail |= np.fromiter((name in e for e in events), dtype=bool, count=size)
        for name, required, fails in self.free_form:
            values = [e.get(name, _ABSENT) for e in events]
            fail |= fails(values)
            if required:
                fail |= np.array([v is _ABSENT for v in values], dtype=bool)
        ambiguous: list[tuple[tuple[str, ...], np.ndarray, bool]] = []
        for leaf in self.leaves:
            fail |= self._leaf_fails(leaf, children[leaf.path[0]], None, ambiguous)
        for obj in self.objects:
            column = children[obj.path[0]]
            present = column.is_valid().to_numpy(zero_copy_only=False)
            if not obj.nullable:
                if obj.required:
                    fail |= ~present
                else:
                    ambiguous.append((obj.path, ~present, False))  # null is invalid, absent is fine
            grandchildren = column.flatten()
            for leaf, child in zip(obj.leaves, grandchildren):
                fail |= self._leaf_fails(leaf, child, present, ambiguous)
        for path, rows, must_exist in ambiguous:
            rows = np.flatnonzero(rows & ~fail)
            name = path[-1]
            # Objects are one level deep: the parent is the event or one of its (present, dict) values.
            parents = [events[r] for r in rows] if len(path) == 1 else [events[r][path[0]] for r in rows]
            exists = np.fromiter((name in parent for parent in parents), dtype=bool, count=len(rows))
            fail[rows[exists != must_exist]] = True
        return struct, ~fail, misfits

    @staticmethod
    def _leaf_fails(leaf: _Leaf, values: pa.Array, parent_present: np.ndarray | None,
                    ambiguous: list) -> np.ndarray:
        null = values.is_null().to_numpy(zero_copy_only=False)
        if parent_present is not None:
            null &= parent_present
        fail = np.zeros(len(values), dtype=bool)
        # Arrow has one null for "absent" and "null": decide from the flags, or look at the dict when they differ.
        if leaf.nullable and leaf.required:
            ambiguous.append((leaf.path, null, True))
        elif not leaf.nullable and leaf.required:
            fail |= null
        elif not leaf.nullable:
            ambiguous.append((leaf.path, null, False))
        for check in leaf.checks:
            passed = check(values)  # null where the value is null (handled above)
            fail |= ~pc.fill_null(passed, True).to_numpy(zero_copy_only=False)
        return fail
