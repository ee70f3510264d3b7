"""Policy dimensions (service, screen, status): produced by the pseudonymize stage, checked for k and rolled up."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from pipeline.common.event import EVENT_TIME_MS
from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.kanon.core import pre_aggregate, release_window
from pipeline.policy.loader import PolicyError, compile_policy, load_policy
from pipeline.policy.model import Hierarchy, KAnonSection
from pipeline.pseudonymize.core import pseudonymize_batch

DEC = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
RING = KeyRing([Key("m12", DEC, DEC + dt.timedelta(days=31), ACTIVE, b"\x33" * 32)])
T0 = int(DEC.timestamp() * 1000) + 3_600_000


def event(i: int, **properties) -> dict:
    return {"event_id": f"ev{i:08d}", "event_type": "appeal_submit", "occurred_at": "2026-12-01T01:00:00+00:00",
            "app": {"version": "2.4.1", "platform": "android"}, "device_id": f"dev-{i}", "ip": "95.56.1.7",
            "properties": properties, EVENT_TIME_MS: T0}


def test_default_policy_outputs_the_dimensions_as_columns():
    policy = load_policy()
    assert list(policy.policy.kanon.dimensions) == ["service", "screen", "status"]
    out = pseudonymize_batch([event(1, service="housing", screen="appeals", status="new"),
                              event(2, service="tax evasion!", screen="home"), event(3)], policy, RING).table
    assert out.column("service").to_pylist() == ["housing", "other", None]  # values outside the allowlist: 'other'
    assert out.column("screen").to_pylist() == ["appeals", "home", None]
    assert out.column("status").to_pylist() == ["new", None, None]


def test_a_dimension_column_that_is_not_an_allowlisted_key_is_refused():
    data = load_policy().policy.model_dump()
    data["fields"] = {k: v.model_dump(exclude_none=True) for k, v in load_policy().policy.fields.items()}
    data["fields"]["properties"]["params"]["columns"] = ["district"]
    with pytest.raises(PolicyError, match="district"):
        compile_policy(data)


def test_a_dimension_that_is_also_a_quasi_identifier_is_refused():
    with pytest.raises(ValueError, match="both a quasi-identifier and a dimension"):
        KAnonSection(dimensions={"os_family": Hierarchy()})


def test_rollup_order_may_name_dimensions_and_nothing_else():
    KAnonSection(dimensions={"service": Hierarchy()}, rollup_order=["service", "geo_h3"])
    with pytest.raises(ValueError, match="not a quasi-identifier or dimension"):
        KAnonSection(dimensions={"service": Hierarchy()}, rollup_order=["screen"])


def config(k: int) -> KAnonSection:
    return KAnonSection(k=k, subject_columns=["user_pseudonym", "device_pseudonym"],
                        quasi_identifiers={"os_family": Hierarchy()},
                        dimensions={"service": Hierarchy(), "screen": Hierarchy()},
                        rollup_order=["screen", "os_family", "service"])


@pytest.mark.parametrize("seed", range(8))
def test_every_released_row_covers_k_people_counted_from_the_rows_themselves(seed):
    """Independent recount: the rows a published cell covers are found by matching values, not by the release."""
    rng = random.Random(seed)
    k = rng.choice([3, 5])
    n = rng.randrange(20, 200)
    rows = {"event_type": [rng.choice(["appeal_submit", "search"]) for _ in range(n)],
            "os_family": [rng.choice(["Android", "iOS"]) for _ in range(n)],
            "service": [rng.choices(["housing", "roads", "ecology", None], [10, 5, 1, 3])[0] for _ in range(n)],
            "screen": [rng.choice(["home", "appeals", "map"]) for _ in range(n)],
            "user_pseudonym": [None] * n, "device_pseudonym": [f"d{rng.randrange(30)}" for _ in range(n)],
            "event_hour": [T0] * n}
    table = pa.table(rows).cast(pa.schema([(c, pa.timestamp("ms", tz="UTC") if c == "event_hour" else pa.string())
                                           for c in rows]))
    cells = {cell: state for (_, cell), state in pre_aggregate(table, config(k), "event_hour").items()}
    release = release_window(cells, config(k))
    claimed: set[int] = set()
    for row in sorted(release.rows, key=lambda r: sum(r.levels)):  # finest first, like the release
        event_type, os, service, screen = row.cell
        mine = [i for i in range(n) if i not in claimed and rows["event_type"][i] == event_type
                and os in ("*", rows["os_family"][i]) and service in ("*", rows["service"][i] or "unknown")
                and screen in ("*", rows["screen"][i])]
        claimed.update(mine)
        assert len({rows["device_pseudonym"][i] for i in mine}) == row.subjects >= k
        assert len(mine) == row.events
    # a rare service never appears under its own name with fewer than k people
    for row in release.rows:
        if row.cell[2] not in ("*",):
            people = {rows["device_pseudonym"][i] for i in range(n) if (rows["service"][i] or "unknown") == row.cell[2]
                      and rows["event_type"][i] == row.cell[0]}
            assert len(people) >= k
    assert sum(r.events for r in release.rows) + release.suppressed_events == n
