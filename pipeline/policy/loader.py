"""Load and validate a policy file once at start-up; errors name the YAML line; operators are built here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import yaml
from pydantic import ValidationError

from pipeline.common.columns import KEY_ID_COLUMN, POLICY_VERSION_COLUMN
from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.operators.base import Operator
from pipeline.operators.registry import operator_class
from pipeline.policy.model import Policy
from pipeline.policy.reads import ReadPlan, read_plan

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "default.yaml"
PROVENANCE_FIELDS = [pa.field(POLICY_VERSION_COLUMN, pa.string()), pa.field(KEY_ID_COLUMN, pa.string())]


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message names the file, line and problem."""


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, keyed by its path."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        mapping[key] = loader.construct_object(value_node, deep=deep)
        loader.lines[(id(mapping), key)] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(data: dict, loc: tuple, lines: dict) -> int | None:
    node, line = data, None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = lines.get((id(node), part), line)
            node = node[part]
        else:
            break
    return line


@dataclass(frozen=True)
class CompiledPolicy:
    """A validated policy with its operators instantiated, and the output schema they produce."""

    policy: Policy
    operators: tuple[Operator, ...]
    source: str
    reads: ReadPlan  # what the operators read from an event (the pseudonymize kernel's conversion plan)

    @property
    def version(self) -> str:
        return self.policy.version

    def output_schema(self) -> pa.Schema:
        fields = [f for op in self.operators for f in op.output_schema()]
        return pa.schema(fields + PROVENANCE_FIELDS)

    def operator_for(self, field_path: str) -> Operator:
        for op in self.operators:
            if op.field_path == field_path:
                return op
        raise KeyError(f"policy has no rule for field {field_path!r}")


def resolve_policy_path(path: str | os.PathLike | None) -> Path:
    return Path(path or os.environ.get("ANONPIPE_POLICY") or DEFAULT_POLICY_PATH)


def load_policy(path: str | os.PathLike | None = None) -> CompiledPolicy:
    source = resolve_policy_path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read policy ({exc.strerror})") from None
    loader = _LineLoader(text)
    loader.lines = {}
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a YAML mapping")
    return compile_policy(data, str(source), loader.lines)


def compile_policy(data: dict, source: str = "<policy>", lines: dict | None = None) -> CompiledPolicy:
    lines = lines or {}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        line = _line_of(data, first["loc"], lines)
        where = f"line {line}" if line else "top level"
        path = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{source}, {where}: {path}: {first['msg']}") from None
    known_fields = _schema_paths(load_schema(TELEMETRY_EVENT_V1))
    operators = []
    for field_path, rule in policy.fields.items():
        line = _line_of(data, ("fields", field_path), lines)
        where = f"{source}, line {line}" if line else source
        if field_path not in known_fields:
            raise PolicyError(f"{where}: unknown field {field_path!r} (not in telemetry-event.v1)")
        try:
            cls = operator_class(rule.operator)
            params = cls.Params.model_validate(rule.params)
        except KeyError as exc:
            raise PolicyError(f"{where}: {exc.args[0]}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PolicyError(f"{where}: operator {rule.operator!r} parameter "
                              f"{'.'.join(map(str, first['loc'])) or '(params)'}: {first['msg']}") from None
        operators.append(cls(field_path, params, rule.output))
    compiled = CompiledPolicy(policy, tuple(operators), source, read_plan(operators))
    names = [f.name for f in compiled.output_schema()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PolicyError(f"{source}: output columns produced twice: {', '.join(duplicates)}")
    if "kanon" in data:  # an explicit section is checked here; the defaults when the kanon stage starts
        require_kanon_columns(compiled, _line_of(data, ("kanon",), lines))
    return compiled


def require_kanon_columns(compiled: CompiledPolicy, line: int | None = None) -> None:
    """The kanon section's columns exist among the operators' outputs and its models build; else PolicyError."""
    from pipeline.kanon.models import check_kanon
    try:
        check_kanon(compiled.policy.kanon, compiled.output_schema().names)
    except ValueError as exc:
        raise PolicyError(f"{compiled.source}, {f'line {line}' if line else 'kanon section'}: {exc}") from None


def _schema_paths(schema: dict, prefix: str = "") -> set[str]:
    """Every field path of the event schema (objects also count as a whole)."""
    paths = set()
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        paths.add(path)
        if "properties" in sub and name != "properties":
            paths |= _schema_paths(sub, f"{path}.")
    return paths


def pseudonym_fields(compiled: CompiledPolicy) -> dict[str, tuple[str, int]]:
    """Input field → (pseudonym column, hex length) for every keyed-HMAC field: what erasure must recompute."""
    fields = {}
    for op in compiled.operators:
        if op.name == "hmac_pseudonym" and (op.params.domain or op.field_path) == op.field_path:
            fields[op.field_path] = (op.output, op.params.length)
    return fields
