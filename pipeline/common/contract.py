"""Locate and load the JSON Schemas of the event contract (schemas/ at the repo root, shipped in the package)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
TELEMETRY_EVENT_V1 = "telemetry-event.v1.json"


@functools.cache
def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
