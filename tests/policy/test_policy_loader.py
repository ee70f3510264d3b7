"""Policy loading: the default loads; unknown field / operator / parameter → one PolicyError naming the line."""

import datetime as dt

import pytest

from pipeline.common.columns import DATE_COLUMN
from pipeline.keys.ring import ephemeral_ring
from pipeline.policy.loader import DEFAULT_POLICY_PATH, PolicyError, load_policy
from pipeline.pseudonymize.core import output_schema, pseudonymize_batch

BASE = """version: "t1"
fields:
  event_id: {operator: keep}
  user_id: {operator: hmac_pseudonym}
"""


def write(tmp_path, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_policy_loads():
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert policy.version and len(policy.operators) >= 10
    assert "user_pseudonym" in output_schema(policy).names


@pytest.mark.parametrize("extra_line, line, words", [
    ("  users_id: {operator: keep}\n", 5, ["unknown field", "users_id"]),                # field not in contract
    ("  ip: {operator: ip_scramble}\n", 5, ["unknown operator", "ip_scramble"]),         # operator not registered
    ("  ip: {operator: ip_truncate, params: {ipv4_prefx: 24}}\n", 5, ["ipv4_prefx"]),    # parameter typo
    ("  ip: {operator: ip_truncate, params: {ipv4_prefix: 40}}\n", 5, ["ipv4_prefix"]),  # parameter out of range
])
def test_errors_name_the_line(tmp_path, extra_line, line, words):
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, BASE + extra_line))
    message = str(info.value)
    assert f"line {line}" in message
    assert all(word in message for word in words)


def test_unknown_top_level_key_names_its_line(tmp_path):
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, BASE + "retention_days: 3\n"))
    assert "line 5" in str(info.value) and "retention_days" in str(info.value)


def test_fields_not_named_are_dropped(tmp_path):
    policy = load_policy(write(tmp_path, BASE))
    end = dt.datetime.now(dt.UTC)
    event = {"event_id": "e1234567", "user_id": "u-1", "ip": "95.56.1.2", "text": "secret words",
             "geo": {"lat": 51.1, "lon": 71.4}, "_ts_ms": int(end.timestamp() * 1000)}
    table = pseudonymize_batch([event], policy, ephemeral_ring("monthly", end)).table
    assert table.column_names == ["event_id", "user_pseudonym", "policy_version", "key_id", DATE_COLUMN]
    values = [str(v) for column in table.columns for v in column.to_pylist()]
    assert not any(raw in value for value in values for raw in ("95.56.1.2", "secret words", "51.1", "u-1"))
    assert not any(name in table.column_names for name in ("ip", "text", "geo", "ip_prefix", "geo_h3"))
