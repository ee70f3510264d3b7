"""docs/policy.md, generated from the policy model: every section and field with its type, default, example and
description, and every operator's parameters. Regenerate with `python -m pipeline.policy.reference > docs/policy.md`.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from pipeline.operators.registry import OPERATORS
from pipeline.policy.model import Policy
from pipeline.policy.source import DEFAULT_POLICY_PATH

ANY = "*"  # a path step that stands for every key of a mapping (or item of a list)
_MAX_CELL = 90

HEADER = """# Policy reference

<!-- Generated from pipeline/policy/model.py by `python -m pipeline.policy.reference > docs/policy.md`;
     tests/policy/test_policy_reference.py fails when this file and the model differ. Do not edit by hand. -->

A policy is one YAML file (`--policy` or `ANONPIPE_POLICY`; default: the packaged
`pipeline/policy/default.yaml`). It is validated completely when it loads: an unknown key, a wrong type or an
operator parameter out of range stops the worker with the file, line and problem. The example column shows the
packaged policy's value where it sets one. `fields.*` stands for every input field the policy names (a dotted
path into telemetry-event.v1); a field not named is dropped.
"""


def walk(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type[BaseModel], dict[str, FieldInfo]]]:
    """(path, model, fields) of `model` and of every model nested in it, depth first, in declaration order."""
    yield prefix, model, model.model_fields
    for name, info in model.model_fields.items():
        for nested, step in _nested_models(info.annotation):
            yield from walk(nested, f"{prefix}{name}{step}.")


def _nested_models(annotation) -> Iterator[tuple[type[BaseModel], str]]:
    """Models inside an annotation, with the path step that reaches them ("", ".*" for a mapping, "[]")."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, ""
    elif origin is dict and args and _is_model(args[1]):
        yield args[1], f".{ANY}"
    elif origin is list and args and _is_model(args[0]):
        yield args[0], "[]"
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _nested_models(arg)


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def type_name(annotation) -> str:
    """A reader's name for an annotation: `int`, `list of int`, `mapping name → Hierarchy`, `"a" | "b"`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping name → {type_name(args[1])}" if args else "mapping"
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.default_factory() if info.default_factory is not None else info.default
    return "—" if value is PydanticUndefined else _yaml(value)


def _yaml(value) -> str:
    text = yaml.safe_dump(to_jsonable_python(value), default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return _cell(text)


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if len(text) <= _MAX_CELL else f"`{text[:_MAX_CELL - 1]}…`"


def example_text(example: dict, path: str) -> str:
    """The packaged policy's value at `path` (the first entry where the path names every key), or —."""
    node = example
    for step in path.replace("[]", f".{ANY}").split("."):
        if isinstance(node, dict) and step == ANY and node:
            node = next(iter(node.values()))
        elif isinstance(node, list) and step == ANY and node:
            node = node[0]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return "—"
    return _yaml(node)


def _first_line(text: str | None) -> str:
    return " ".join((text or "").split())


def render() -> str:
    example = yaml.safe_load(Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8"))
    out = [HEADER]
    for prefix, model, fields in walk(Policy):
        title = prefix.rstrip(".") or "top level"
        out += ["", f"## `{title}`" if prefix else "## Top level", "", _first_line(model.__doc__), "",
                "| key | type | default | example | description |", "| --- | --- | --- | --- | --- |"]
        for name, info in fields.items():
            path = f"{prefix}{name}"
            nested = next(_nested_models(info.annotation), None)
            if nested is None:
                values = f"{default_text(info)} | {example_text(example, path)}"
            else:  # a section of its own below: its keys carry the defaults and examples
                section = f"{path}{nested[1]}"
                values = f"see [`{section}`](#{section.replace('.', '').replace('*', '').replace('[]', '')}) | —"
            out.append(f"| `{path}` | {type_name(info.annotation)} | {values} | {_first_line(info.description)} |")
    out += ["", "## Operator parameters (`fields.*.params`)", "",
            "Each operator validates its own parameters when the policy loads; `output` defaults per operator.", ""]
    for name in sorted(OPERATORS):
        cls = OPERATORS[name]
        out += [f"### `{name}`", "", _first_line(sys.modules[cls.__module__].__doc__), ""]
        params = cls.Params.model_fields
        if not params:
            out += ["No parameters.", ""]
            continue
        out += ["| parameter | type | default | description |", "| --- | --- | --- | --- |"]
        for param, info in params.items():
            out.append(f"| `{param}` | {type_name(info.annotation)} | {default_text(info)} | "
                       f"{_first_line(info.description)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
