"""docs/policy.md is generated from the policy model and stays current; every field of the model is described."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.policy.model import Policy
from pipeline.policy.reference import render, walk

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
SECTIONS = list(walk(Policy))


def test_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/policy.md is stale: run `python -m pipeline.policy.reference > docs/policy.md`"


@pytest.mark.parametrize("prefix, model", [(p, m) for p, m, _ in SECTIONS],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_every_section_and_field_is_described(prefix, model):
    assert model.__doc__ and model.__doc__.strip(), f"{model.__name__} has no docstring"
    missing = [f"{prefix}{name}" for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert missing == []


def test_every_field_appears_in_the_reference():
    text = render()
    for prefix, _, fields in SECTIONS:
        for name in fields:
            assert f"| `{prefix}{name}` |" in text
