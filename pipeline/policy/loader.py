"""Load and validate a policy file once at start-up; errors name the YAML line; operators are built here."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow as pa
from pydantic import ValidationError

from pipeline.common.columns import KEY_ID_COLUMN, POLICY_VERSION_COLUMN
from pipeline.common.contract import TELEMETRY_EVENT_V1, load_schema
from pipeline.operators.base import Operator
from pipeline.operators.registry import operator_class
from pipeline.policy.model import Policy
from pipeline.policy.reads import ReadPlan, read_plan
# DEFAULT_POLICY_PATH, PolicyError and resolve_policy_path are also imported from here by older callers.
from pipeline.policy.source import (DEFAULT_POLICY_PATH, PolicyError, line_of, read_policy_file,  # noqa: F401
                                   resolve_policy_path, validate_policy)

PROVENANCE_FIELDS = [pa.field(POLICY_VERSION_COLUMN, pa.string()), pa.field(KEY_ID_COLUMN, pa.string())]


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


def load_policy(path: str | os.PathLike | None = None) -> CompiledPolicy:
    source, data, lines = read_policy_file(path)
    return compile_policy(data, source, lines)


def compile_policy(data: dict, source: str = "<policy>", lines: dict | None = None) -> CompiledPolicy:
    lines = lines or {}
    policy = validate_policy(data, source, lines)
    known_fields = _schema_paths(load_schema(TELEMETRY_EVENT_V1))
    operators = []
    for field_path, rule in policy.fields.items():
        line = line_of(data, ("fields", field_path), lines)
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
        require_kanon_columns(compiled, line_of(data, ("kanon",), lines))
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
