"""Hostile inputs pinned at the kernel (validate + pseudonymize cores, no broker): each one a bug found and fixed, kept as a regression test."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from harness import GENERATED_UNTIL, make_keyring

from pipeline.generate import TelemetryGenerator
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import validate_batch

NOW = GENERATED_UNTIL + dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def goods() -> list[dict]:
    return list(TelemetryGenerator(5, end=GENERATED_UNTIL, hours=2).events(20))


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    ring = make_keyring(tmp_path_factory.mktemp("kernel") / "keyring.json")
    policy = load_policy(None)

    def run(payload: bytes):
        valid = validate_batch([(payload, {"partition": 0, "offset": 0})], now=NOW)
        result = pseudonymize_batch(valid.events, policy, ring, {}, {})
        return result.table, valid.rejects + result.rejects
    return run


def deep(depth: int) -> bytes:
    return b'{"d":' * depth + b"1" + b"}" * depth


def test_deeply_nested_rejected_event_is_dead_lettered_alone(kernel, goods):
    bad = b'{"event_id":"x","properties":{"screen":' + deep(300) + b"}}"
    table, rejects = kernel(b"\n".join([orjson.dumps(goods[0]), bad, orjson.dumps(goods[1])]))
    assert table.num_rows == 2
    assert [r.code for r in rejects] == ["schema_violation"]


def test_dlq_keeps_the_original_bytes_of_a_parsed_event(kernel, goods):
    bad = b'{"event_id": "short", "big": 123456789012345678901234567890}'
    _, rejects = kernel(bad)
    assert [r.raw for r in rejects] == [bad]


@pytest.mark.parametrize("ip", ["224.0.0.1", "239.255.255.250", "ff02::1", "ff0e::1"])
def test_multicast_ip_is_rejected(kernel, goods, ip):
    table, rejects = kernel(orjson.dumps({**goods[2], "ip": ip}))
    assert table.num_rows == 0 and [r.code for r in rejects] == ["invalid_ip"]


def test_ndjson_envelope_starting_with_an_array_line_keeps_valid_neighbours(kernel, goods):
    table, rejects = kernel(b"\n".join([b"[1, 2]", *(orjson.dumps(g) for g in goods[:5])]))
    assert table.num_rows == 5
    assert [r.code for r in rejects] == ["event_not_object"]


def test_pretty_printed_single_event_envelope_is_one_valid_event(kernel, goods):
    table, rejects = kernel(orjson.dumps(goods[3], option=orjson.OPT_INDENT_2))
    assert (table.num_rows, len(rejects)) == (1, 0)


def test_time_at_the_edges_of_the_calendar_is_rejected_not_raised(kernel, goods):
    stamps = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00Z"]
    lines = [orjson.dumps({**goods[4], "occurred_at": s}) for s in stamps]
    table, rejects = kernel(b"\n".join([orjson.dumps(goods[5]), *lines]))
    assert table.num_rows == 1
    assert sorted(r.code for r in rejects) == ["time_out_of_range"] * 3
