"""Typed decode of a clean NDJSON envelope: msgspec Structs compiled from the JSON Schema, straight to Arrow columns."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Annotated, Any, Literal, Union

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from msgspec import UNSET, Meta, UnsetType

from pipeline.validate.fast import ANNOTATIONS, FORMATS, Unsupported, re2_safe_pattern, schema_types

# fastjsonschema rewrites every unescaped `$` of a pattern to `\Z` before Python's `re` searches with it; msgspec
# searches with `re` too, so the same rewrite gives the same match set (same regex as fastjsonschema's draft04).
_DOLLAR = re.compile(r"(?<!\\)\$")
# orjson reads integers in [-2**63, 2**64) as int and wider ones as float: a property value outside it would print
# differently after the reference parse, so the typed decode refuses it (msgspec bounds stop at int64: stricter).
_ORJSON_INT = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
_FREE_FORM_TYPES = {"string": (str,), "number": (_ORJSON_INT, float), "boolean": (bool,), "null": (type(None),)}
_UNSET_AS_NONE = {UNSET: None}
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError, RecursionError)


def _name(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise Unsupported(f"property {name!r} is not a plain identifier")
    return name


def _scalar(path: str, node: dict) -> tuple[Any, pa.DataType, str | None]:
    """(msgspec annotation without null, Arrow type, pattern checked column-wise or None) of a string or number
    node; Unsupported otherwise."""
    scalar = [k for k in schema_types(node) if k != "null"]
    keywords = set(node) - ANNOTATIONS - {"type"}
    if scalar == ["string"]:
        if "enum" in node:
            if keywords != {"enum"} or not all(isinstance(v, str) or v is None for v in node["enum"]):
                raise Unsupported(f"{path}: enum with other keywords or values")
            return Literal[tuple(v for v in node["enum"] if v is not None)], pa.string(), None
        if keywords - {"minLength", "maxLength", "pattern", "format"} or ("pattern" in node and "format" in node):
            raise Unsupported(f"{path}: keywords {sorted(keywords)}")
        if "format" in node and node["format"] not in FORMATS:
            raise Unsupported(f"{path}: format {node['format']!r}")
        pattern = node.get("pattern", FORMATS.get(node.get("format")))
        if pattern is not None and "format" not in node:
            try:
                re2_safe_pattern(pattern)
            except Unsupported:  # may mean something else in RE2: msgspec searches with Python's re, per value
                meta = Meta(min_length=node.get("minLength"), max_length=node.get("maxLength"),
                            pattern=_DOLLAR.sub(r"\\Z", pattern))
                return Annotated[str, meta], pa.string(), None
        # Checked afterwards on the whole column with RE2 (Arrow compute): a per-value Python regex search cost
        # more than the rest of the decode. FORMATS are written for RE2 (ASCII digits, `$` = end of text).
        meta = Meta(min_length=node.get("minLength"), max_length=node.get("maxLength"))
        return Annotated[str, meta], pa.string(), pattern
    if scalar == ["number"]:
        if keywords - {"minimum", "maximum"}:
            raise Unsupported(f"{path}: keywords {sorted(keywords)}")
        bounds = [node[k] for k in ("minimum", "maximum") if k in node]
        if any(not isinstance(b, (int, float)) or abs(b) >= 2**53 for b in bounds):
            raise Unsupported(f"{path}: bounds beyond float64's exact integers")  # int → float could cross them
        return Annotated[float, Meta(ge=node.get("minimum"), le=node.get("maximum"))], pa.float64(), None
    raise Unsupported(f"{path}: type {schema_types(node)}")


def _nullable(node: dict) -> bool:
    """Whether null is valid: the type allows it and, for an enum, the enum lists it."""
    return "null" in schema_types(node) and (node.get("enum") is None or None in node["enum"])


def _may_be_unset(field: tuple) -> bool:
    return len(field) == 3 and field[2] is UNSET


def _field(name: str, annotation: Any, nullable: bool, required: bool) -> tuple:
    """A defstruct field: absent is allowed as None when null is, as UNSET when only absence is."""
    if nullable:
        annotation = Union[annotation, None]
    if required:
        return (name, annotation)
    if nullable:
        return (name, annotation, None)
    return (name, Union[annotation, UnsetType], UNSET)


@dataclass(frozen=True)
class _Column:
    """One Arrow column of the typed fields: a scalar, or an object of scalars (a struct)."""

    name: str
    arrow: pa.DataType
    may_be_unset: bool
    children: tuple[_Column, ...] = ()
    pattern: str | None = None  # RE2 pattern every non-null value must match (searched, as JSON Schema does)


class TypedSchema:
    """msgspec Struct types for a JSON Schema (the subset telemetry-event.v1 uses) and their Arrow form.

    Sound, not complete, like FastCheck: an envelope it decodes is valid for fastjsonschema, line by line, and
    parses to the same values under orjson; anything it refuses goes to the reference path. Any keyword it does
    not implement raises Unsupported when the schema is compiled.
    """

    def __init__(self, schema: dict):
        if schema_types(schema) != ["object"] or set(schema) - ANNOTATIONS - {"type", "required", "properties"}:
            raise Unsupported("top level must be a plain object schema")
        required = set(schema.get("required", []))
        fields: list[tuple] = []
        self.columns: list[_Column] = []
        self.free_form: list[str] = []
        self._free_form_decoders: dict[str, Any] = {}
        for name, node in schema["properties"].items():
            _name(name)
            if "type" not in node:
                if set(node) - ANNOTATIONS != {"const"} or type(node["const"]) not in (int, str) or name in required:
                    raise Unsupported(f"{name}: untyped node other than an optional int/str const")
                fields.append(_field(name, Literal[node["const"]], False, False))  # stricter than const: sound
                continue
            kinds = schema_types(node)
            nullable = _nullable(node)
            if "object" in kinds and "properties" in node:
                struct, column = self._object(name, node)
                fields.append(_field(name, struct, nullable, name in required))
                self.columns.append(column)
            elif "object" in kinds:
                # Read as raw JSON text, then each distinct text decoded (strictly) once: objects like event
                # properties repeat across events, and rows with equal text share one dict.
                value_type = self._free_form(name, node)
                self._free_form_decoders[name] = msgspec.json.Decoder(
                    Union[value_type, None] if nullable else value_type)
                fields.append((name, msgspec.Raw) if name in required else (name, msgspec.Raw, UNSET))
                self.free_form.append(name)
            else:
                annotation, arrow, pattern = _scalar(name, node)
                field = _field(name, annotation, _nullable(node), name in required)
                fields.append(field)
                self.columns.append(_Column(name, arrow, _may_be_unset(field), pattern=pattern))
        # Unknown fields are refused, not skipped: msgspec skips a value without reading it (invalid UTF-8 or an
        # overflowing number there would pass), while the reference parse (orjson) reads and refuses it. gc=False:
        # an event holds only strings, numbers and these structs, so no cycles, and the garbage collector need not
        # track thousands of new objects per envelope.
        self.event_type = msgspec.defstruct("TypedEvent", fields, kw_only=True, forbid_unknown_fields=True, gc=False)
        self.arrow_type = pa.struct([pa.field(c.name, self._arrow(c)) for c in self.columns])
        self._decode = msgspec.json.Decoder(self.event_type).decode
        self._field_index = {f: i for i, f in enumerate(self.event_type.__struct_fields__)}

    @staticmethod
    def _arrow(column: _Column) -> pa.DataType:
        if not column.children:
            return column.arrow
        return pa.struct([pa.field(c.name, c.arrow) for c in column.children])

    def _object(self, name: str, node: dict) -> tuple[type, _Column]:
        if [k for k in schema_types(node) if k != "null"] != ["object"] \
                or set(node) - ANNOTATIONS - {"type", "required", "properties"}:
            raise Unsupported(f"{name}: object keywords")
        required = set(node.get("required", []))
        if not required <= set(node["properties"]):
            raise Unsupported(f"{name}: a required property is not declared")
        fields, children = [], []
        for child, sub in node["properties"].items():
            annotation, arrow, pattern = _scalar(f"{name}.{_name(child)}", sub)
            field = _field(child, annotation, _nullable(sub), child in required)
            fields.append(field)
            children.append(_Column(child, arrow, _may_be_unset(field), pattern=pattern))
        struct = msgspec.defstruct(f"Typed_{name}", fields, kw_only=True, forbid_unknown_fields=True, gc=False)
        return struct, _Column(name, pa.null(), False, tuple(children))

    @staticmethod
    def _free_form(name: str, node: dict) -> Any:
        extra = node.get("additionalProperties", {})
        if set(node) - ANNOTATIONS - {"type", "maxProperties", "additionalProperties"} or not isinstance(extra, dict) \
                or set(extra) - ANNOTATIONS - {"type"} or not set(schema_types(extra)) <= set(_FREE_FORM_TYPES):
            raise Unsupported(f"{name}: free-form object keywords")
        values = Union[tuple(t for k in schema_types(extra) for t in _FREE_FORM_TYPES[k])]
        return Annotated[dict[str, values], Meta(max_length=node.get("maxProperties"))]

    def decode_lines(self, lines: Sequence[bytes]) -> list | None:
        """Every line decoded as one typed event, or None as soon as one line does not decode."""
        try:
            return list(map(self._decode, lines))
        except DECODE_ERRORS:
            return None

    def to_arrow(self, events: list) -> pa.StructArray:
        """The decoded events' typed fields as one struct array of `arrow_type` (absent and null are null)."""
        columns = list(zip(*map(msgspec.structs.astuple, events)))  # one tuple per field, C-level transpose
        arrays = [self._array(column, columns[self._field_index[column.name]]) for column in self.columns]
        return pa.StructArray.from_arrays(arrays, fields=list(self.arrow_type))

    def patterns_hold(self, struct: pa.StructArray) -> bool:
        """Whether every non-null value of `to_arrow`'s columns matches its column's pattern."""
        for column in self.columns:
            for child in column.children or (column,):
                if child.pattern is None:
                    continue
                values = struct.field(column.name)
                if column.children:
                    values = values.field(child.name)  # null under a null parent (to_arrow fills blanks)
                if pc.all(pc.match_substring_regex(values, child.pattern)).as_py() is False:  # nulls skipped
                    return False
        return True

    def _array(self, column: _Column, values: tuple) -> pa.Array:
        if not column.children:
            if column.may_be_unset and UNSET in values:
                values = list(map(_UNSET_AS_NONE.get, values, values))  # scalars are hashable: C-level swap
            return pa.array(values, type=column.arrow)
        some_absent = None in values or UNSET in values
        if some_absent:
            absent = [v is None or v is UNSET for v in values]
            blank = (None,) * len(column.children)
            rows = [blank if a else msgspec.structs.astuple(v) for v, a in zip(values, absent)]
        else:
            rows = list(map(msgspec.structs.astuple, values))
        children = list(zip(*rows)) if rows else [()] * len(column.children)
        arrays = [self._array(child, children[i]) for i, child in enumerate(column.children)]
        mask = pa.array(absent, pa.bool_()) if some_absent else None
        return pa.StructArray.from_arrays(arrays, fields=list(self._arrow(column)), mask=mask)

    def free_form_values(self, events: list, name: str) -> list | None:
        """A free-form field's values (None where absent or null; rows with equal JSON text share one object),
        or None when some text does not decode under the field's schema."""
        texts = [None if v is UNSET else bytes(v) for v in map(attrgetter(name), events)]
        decode = self._free_form_decoders[name].decode
        try:
            by_text = {text: decode(text) for text in dict.fromkeys(texts) if text is not None}
        except DECODE_ERRORS:
            return None
        by_text[None] = None
        return list(map(by_text.__getitem__, texts))
