"""Issue 14 findings 1, 2 and 5 on the release kernel: k counts people, stats withhold, one privacy core."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import yaml

from pipeline.kanon.core import link_people, pre_aggregate, release_window
from pipeline.kanon.models import privacy_models, sensitive_histogram
from pipeline.kanon.stats import release_tables, withhold
from pipeline.policy.loader import DEFAULT_POLICY_PATH, PolicyError, compile_policy
from pipeline.policy.model import KAnonSection
from pipeline.privacy import DistinctLDiversity, EntropyLDiversity, KAnonymity

HOUR = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
CELL = {"geo_h3": "882a100d2bfffff", "app_major": "2", "device_class": "phone", "os_family": "Android"}


def events(rows: list[dict]) -> pa.Table:
    """Pseudonymized rows: identifiers given per row, everything else the same cell unless overridden."""
    full = [{"event_hour": HOUR, "event_type": "app_open", **CELL, "user_pseudonym": None, "device_pseudonym": None,
             "cookie_pseudonym": None, "session_pseudonym": None, "screen_bucket": None, **row} for row in rows]
    return pa.Table.from_pylist(full, schema=pa.schema([
        ("event_hour", pa.timestamp("ms", tz="UTC"))] + [(c, pa.string()) for c in full[0] if c != "event_hour"]))


def release(table: pa.Table, config: KAnonSection):
    cells = {cell: state for (_, cell), state in pre_aggregate(table, config, "event_hour").items()}
    by_type: dict = {}
    for cell, state in link_people(cells).items():
        by_type.setdefault(cell[0], {})[cell] = state
    return [release_window(group, config) for _, group in sorted(by_type.items())]


def login_mid_session(person: int) -> list[dict]:
    """Two events before the login (device only), two after (user and device), one session."""
    ids = {"device_pseudonym": f"d{person}", "session_pseudonym": f"s{person}"}
    return [ids, ids, {**ids, "user_pseudonym": f"u{person}"}, {**ids, "user_pseudonym": f"u{person}"}]


def test_finding_1_a_person_who_logs_in_mid_session_is_one_person():
    # Before: subject = user pseudonym, else device pseudonym → 3 people counted as 6 and published at k = 5.
    table = events([row for person in range(3) for row in login_mid_session(person)])
    (result,) = release(table, KAnonSection(k=5))
    assert result.rows == [] and result.subjects == 3 and result.suppressed_events == 12
    (result,) = release(table, KAnonSection(k=3))
    assert [(r.events, r.subjects) for r in result.rows] == [(12, 3)]


def test_a_shared_family_tablet_merges_its_users_and_two_signed_out_devices_stay_two():
    tablet = [{"device_pseudonym": "tablet", "user_pseudonym": u} for u in ("mum", "dad", "kid")]
    signed_out = [{"device_pseudonym": "phone"}, {"device_pseudonym": "laptop", "cookie_pseudonym": "c1"}]
    (result,) = release(events(tablet + signed_out), KAnonSection(k=2))
    assert result.subjects == 3  # the tablet family is one subject (safe direction); nothing links the other two


def test_finding_2_window_stats_never_show_a_count_under_k_people():
    # Before: a rare event type in its own row showed users=1, suppressed_users=1, events=2.
    config = KAnonSection(k=5)
    crowd = [{"device_pseudonym": f"d{i}"} for i in range(6)]
    rare = [{"device_pseudonym": "lonely", "event_type": "error"}] * 2
    for rows, withheld in [(rare, True), (crowd + rare, True), (crowd, False)]:
        releases = release(events(rows), config)
        _, exact = release_tables(int(HOUR.timestamp() * 1000), releases, config, "v", 0)
        shown = withhold(exact, config.k).to_pylist()[0]
        assert shown["withheld"] is withheld
        counts = [shown[c] for c in ("events", "users", "suppressed_events", "suppressed_users")]
        assert counts == ([None] * 4 if withheld else [6, 6, 0, 0])
        assert shown["published_cells"] == exact.column("published_cells")[0].as_py()


def test_window_stats_show_suppressed_totals_when_they_cover_k_people():
    config = KAnonSection(k=2)
    crowd = [{"device_pseudonym": f"d{i}"} for i in range(3)]
    others = [{"device_pseudonym": f"o{i}", "event_type": t} for i, t in enumerate(["error", "login", "logout"])]
    _, exact = release_tables(0, release(events(crowd + others), config), config, "v", 0)
    shown = withhold(exact, config.k).to_pylist()[0]
    assert (shown["events"], shown["users"], shown["suppressed_events"], shown["suppressed_users"]) == (6, 6, 3, 3)


def test_a_late_row_is_withheld_unless_its_late_people_reach_k():
    from pipeline.kanon.stats import late_table
    config = KAnonSection(k=5)
    rows = withhold(late_table({0: 3, 3_600_000: 40}, config, "v", 0), config.k, late_people=[1, 9]).to_pylist()
    assert [(r["late_events"], r["withheld"]) for r in rows] == [(None, True), (40, False)]


def test_finding_5_the_stream_asks_the_shared_privacy_models():
    # Before: the release had its own inline `>= k`; kanon.models and kanon.sensitive_column did not exist.
    config = KAnonSection(k=2, models=[{"name": "distinct-l-diversity", "params": {"l": 2}}],
                          sensitive_column="screen_bucket")
    models = privacy_models(config)
    assert isinstance(models[0], KAnonymity) and isinstance(models[1], DistinctLDiversity)
    same = [{"device_pseudonym": f"d{i}", "screen_bucket": "map"} for i in range(4)]
    (result,) = release(events(same), config)
    assert result.rows == []  # four people, all with one sensitive value: not 2-diverse
    mixed = same + [{"device_pseudonym": "d9", "screen_bucket": "home"}]
    (result,) = release(events(mixed), config)
    assert [r.subjects for r in result.rows] == [5]


def test_one_person_with_several_sensitive_values_weighs_one():
    # Entropy l-diversity: one person holding three values cannot make a class of otherwise equal values diverse.
    classes = sensitive_histogram([{1, 2, 3, 4}], [{(1, "a"), (2, "a"), (3, "a"), (4, "a"), (4, "b"), (4, "c")}])
    assert classes.sizes.tolist() == [4]
    assert sorted(classes.hist_count.tolist()) == pytest.approx([1 / 3, 1 / 3, 3 + 1 / 3])
    assert not EntropyLDiversity(2).class_passes(classes)[0]


def _policy(**kanon) -> dict:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["kanon"].update(kanon)
    return data


@pytest.mark.parametrize("kanon, message", [
    # a quasi-identifier no operator produces
    ({"quasi_identifiers": {"geo_h3": {"kind": "h3", "resolutions": [7]}, "geo_hex": {}},
      "rollup_order": ["geo_h3"]}, "quasi_identifiers: 'geo_hex'"),
    # a subject column with a typo
    ({"subject_columns": ["user_pseudonym", "device_pseudonyms"]}, "subject_columns: 'device_pseudonyms'"),
    # a partition column that is not an output
    ({"partition_column": "event_name"}, "partition_column: 'event_name'"),
    # an unknown privacy model
    ({"models": [{"name": "k-map"}]}, "unknown privacy model 'k-map'"),
    # l-diversity without a sensitive column
    ({"models": [{"name": "distinct-l-diversity", "params": {"l": 2}}]}, "needs kanon.sensitive_column"),
    # bad model parameter
    ({"models": [{"name": "entropy-l-diversity", "params": {"l": 0}}], "sensitive_column": "screen_bucket"},
     "l must be at least 1"),
])
def test_a_bad_kanon_section_is_one_clear_error_at_load(kanon, message):
    with pytest.raises(PolicyError, match="kanon") as error:
        compile_policy(_policy(**kanon), "policy.yaml")
    assert message in str(error.value)


def test_the_stream_ladder_gives_the_labels_of_the_extract_hierarchy_builders():
    # The worker cannot load the builders (pandas); its copy of the ladder must agree with them at every level.
    import h3
    import numpy as np

    from pipeline.hierarchies.registry import spec_from_policy
    from pipeline.kanon.hierarchy import generalize_many
    from pipeline.policy.model import Hierarchy
    ladder = Hierarchy(kind="h3", resolutions=[7, 6])
    fine = h3.latlng_to_cell(51.128, 71.430, 8)
    cells = [fine, h3.cell_to_parent(fine, 5), h3.latlng_to_cell(51.2, 71.6, 8)]  # a coarse cell stays itself
    spec = spec_from_policy("geo_h3", ladder)
    for level in (1, 2, 3):
        assert generalize_many(ladder, cells, level) == spec.generalize(np.array(cells, dtype=object), level).tolist()
    # stream conventions on top: a null ('unknown') goes straight to '*', an unreadable value becomes 'unknown'
    assert generalize_many(ladder, ["unknown", "not-a-cell"], 1) == ["*", "unknown"]
