"""Read a policy file: YAML with the line of every key, the model validated with errors naming that line.

No operator is built here (pipeline/policy/loader.py does that): commands that only need the policy's settings,
such as `anonpipe query` for its time zone, read it without loading every operator's libraries.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from pipeline.policy.model import Policy

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "default.yaml"


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


def line_of(data: dict, loc: tuple, lines: dict) -> int | None:
    """The YAML line of the deepest key of `loc` (a pydantic error location) found in `data`."""
    node, line = data, None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = lines.get((id(node), part), line)
            node = node[part]
        else:
            break
    return line


def resolve_policy_path(path: str | os.PathLike | None) -> Path:
    return Path(path or os.environ.get("ANONPIPE_POLICY") or DEFAULT_POLICY_PATH)


def read_policy_file(path: str | os.PathLike | None = None) -> tuple[str, dict, dict]:
    """(source name, the YAML mapping, line of every key) of the policy at `path`, $ANONPIPE_POLICY or the default."""
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
    return str(source), data, loader.lines


def validate_policy(data: dict, source: str = "<policy>", lines: dict | None = None) -> Policy:
    """The policy model of `data`; PolicyError names the file, line and problem of the first error."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        line = line_of(data, first["loc"], lines or {})
        where = f"line {line}" if line else "top level"
        path = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{source}, {where}: {path}: {first['msg']}") from None


def load_policy_settings(path: str | os.PathLike | None = None) -> Policy:
    """The validated policy model alone (its operators' parameters are checked by loader.load_policy)."""
    source, data, lines = read_policy_file(path)
    return validate_policy(data, source, lines)
