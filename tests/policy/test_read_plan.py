"""The conversion plan is part of the loaded policy: exactly what its operators read, typed from the schema."""

from __future__ import annotations

import pyarrow as pa

from pipeline.common.event import EVENT_TIME_MS
from pipeline.policy.loader import compile_policy


def test_plan_holds_what_operators_read_and_nothing_else():
    compiled = compile_policy({"version": "t1", "fields": {
        "app.version": {"operator": "version_major"},   # one child of an object: only that child is converted
        "occurred_at": {"operator": "time_bucket"},     # reads the parsed time, not the value
        "properties": {"operator": "allowlist", "params": {"keys": {"screen": ["home"]}}},  # free-form
        "event_type": {"operator": "keep"},
    }})
    app = pa.struct([("version", pa.string())])
    assert compiled.reads.struct_type == pa.struct([(EVENT_TIME_MS, pa.int64()), ("app", app),
                                                    ("event_type", pa.string())])
    assert compiled.reads.free_form == ("properties",)
