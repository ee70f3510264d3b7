"""k counts people: linked subject columns, identifiers refused in --keep, and extracts straight from the lake."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from extract_lake_week import build_lake_week
from pipeline.extract.anonymize import ExtractConfigError, ExtractSettings, anonymize
from pipeline.extract.cli import extract_command
from pipeline.hierarchies import parse_hierarchy_arg
from pipeline.lake.audit import EXTRACT_LOG, read_audit
from people_oracle import UnionFind

COLOR = "red;warm;*\norange;warm;*\nblue;cold;*\ngreen;cold;*\n"
# (seq, true person, user pseudonym, device pseudonym, color). P1 logs in mid-session: four events with the
# device id only, then two with user and device - one person, six red events.
EVENTS = [
    (0, "P1", None, "d1", "red"), (1, "P1", None, "d1", "red"), (2, "P1", None, "d1", "red"),
    (3, "P1", None, "d1", "red"), (4, "P1", "u1", "d1", "red"), (5, "P1", "u1", "d1", "red"),
    (6, "P2", "u2", "d2", "red"), (7, "P3", None, "d3", "orange"),
    (8, "P4", "u4", "d4", "blue"), (9, "P5", "u5", "d5", "blue"), (10, "P6", None, "d6", "blue"),
    (11, "P7", "u7", "d7", "green"),
]


def link_people(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The checker's own linkage (not pipeline.linkage): union-find over ids that share a row."""
    people = UnionFind()
    for _, row in frame[columns].iterrows():
        ids = [(c, v) for c, v in row.items() if isinstance(v, str) and v]
        for other in ids[1:]:
            people.union(ids[0], other)
    return frame[columns].apply(
        lambda row: people.find(next((c, v) for c, v in row.items() if isinstance(v, str) and v)), axis=1)


def people_per_class(released: pd.DataFrame, qis: list[str], person: pd.Series) -> pd.Series:
    """Distinct people in each released class, counted with a plain groupby."""
    return released.assign(_person=person.to_numpy()).groupby(qis, dropna=False)["_person"].nunique()


@pytest.fixture
def events(tmp_path):
    (tmp_path / "color.csv").write_text(COLOR)
    frame = pd.DataFrame(EVENTS, columns=["seq", "truth", "user_pseudonym", "device_pseudonym", "color"])
    return frame, parse_hierarchy_arg(f"color={tmp_path / 'color.csv'}")


def test_k_counts_people_linked_across_login(events):
    frame, color = events
    result = anonymize(frame.drop(columns="truth"),
                       ExtractSettings(qi=(color,), k=3, keep=("seq",), suppression=0.25))
    released = result.released
    truth = frame.set_index("seq")["truth"]
    # the attacker's view: who is behind each released row, from the ground truth
    people = people_per_class(released, ["color"], released["seq"].map(truth))
    assert people.min() >= 3
    assert result.search.levels == (1,)  # red holds 7 events but 2 people: warm/cold it is
    assert result.achieved_k == people.min()
    assert result.subject_columns == ("user_pseudonym", "device_pseudonym")  # found by default
    assert result.risk["unit"] == "people"
    assert result.risk["prosecutor"]["highest"] == pytest.approx(1 / people.min())


def test_counting_records_would_have_released_a_class_of_two_people(events):
    """What the people checker catches: with every record taken as a person, red (2 people) is released."""
    frame, color = events
    result = anonymize(frame.drop(columns="truth"),
                       ExtractSettings(qi=(color,), k=3, keep=("seq",), subjects=(), suppression=0.25))
    truth = frame.set_index("seq")["truth"]
    people = people_per_class(result.released, ["color"], result.released["seq"].map(truth))
    assert result.search.levels == (0,) and people.min() < 3


def test_the_linkage_matches_an_independent_union_find(events):
    frame, color = events
    linked = link_people(frame, ["user_pseudonym", "device_pseudonym"])
    assert linked.nunique() == frame["truth"].nunique() == 7
    result = anonymize(frame.drop(columns="truth"), ExtractSettings(qi=(color,), k=1, keep=("seq",)))
    assert result.people_released == 7


def test_rows_without_any_identifier_count_as_one_person(events):
    frame, color = events
    anonymous = pd.DataFrame({"seq": [20, 21, 22], "truth": ["?"] * 3, "user_pseudonym": [None] * 3,
                              "device_pseudonym": [None] * 3, "color": ["green"] * 3})
    result = anonymize(pd.concat([frame, anonymous]).drop(columns="truth"),
                       ExtractSettings(qi=(color,), k=1, keep=("seq",)))
    assert result.records_without_subject == 3
    assert result.people_released == 7 + 1  # the three rows nobody can tell apart are one person, not three


@pytest.mark.parametrize("column", ["device_pseudonym", "event_id", "session_pseudonym", "user_id"])
def test_identifier_columns_are_refused_in_keep(events, column):
    frame, color = events
    with pytest.raises(ExtractConfigError, match="identifier column"):
        ExtractSettings(qi=(color,), k=3, keep=(column,))
    allowed = ExtractSettings(qi=(color,), k=3, keep=(column,), allow_identifiers=True)
    assert allowed.identifier_keeps() == [column]


def test_allowed_identifier_is_warned(events):
    frame, color = events
    result = anonymize(frame.drop(columns="truth"),
                       ExtractSettings(qi=(color,), k=3, keep=("device_pseudonym",), allow_identifiers=True))
    assert any("device_pseudonym is an identifier column" in w for w in result.warnings)


def test_extract_from_the_lake_counts_people_as_the_recipient_can_link_them(tmp_path):
    facts = build_lake_week(tmp_path / "data", people=250, days=2)
    out = tmp_path / "partner"
    result = CliRunner().invoke(extract_command, [
        "--from-lake", str(tmp_path / "data"), "--days", "2026-11-30..2026-12-01",
        "--columns", "geo_h3,app_platform,properties.service", "--qi", "event_hour=date:hour_of_day,part_of_day",
        "--weight", "geo_h3=4", "--k", "5", "--suppression", "0.05", "--recipient", "partner",
        "--rekey", "user_pseudonym", "--rekey", "device_pseudonym", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    released = pd.read_parquet(out / "extract.parquet")
    report = json.loads((out / "report.json").read_text())
    qis = ["geo_h3", "app_platform", "properties.service", "event_hour"]
    assert list(released.columns) == qis + ["user_pseudonym", "device_pseudonym"]  # nothing else left the lake
    # the attacker links the re-keyed ids themselves and counts people per class
    person = link_people(released, ["user_pseudonym", "device_pseudonym"])
    assert people_per_class(released, qis, person).min() >= 5
    assert report["achieved"]["k"] >= 5 and report["achieved"]["k_unit"] == "people"
    assert report["input"]["days"] == ["2026-11-30", "2026-12-01"] and report["input"]["rows"] == facts["rows"]
    assert report["people"]["subject_columns"] == ["user_pseudonym", "device_pseudonym", "cookie_pseudonym"]
    assert report["trajectories"]["people"] == person.nunique()
    assert set(report["columns"]["dropped"]) == {"cookie_pseudonym"}  # read to link people, never released
    # mixed H3 resolutions did not break the build, and location is not thrown away
    assert report["transformation"]["geo_h3"]["level"] < report["transformation"]["geo_h3"]["height"]
    assert report["transformation"]["event_hour"]["meaning"].startswith(("hour_of_day", "part_of_day",
                                                                          "original", "*"))
    page = (out / "report.html").read_text()
    assert "people" in page and "re-keyed" in page and "Sample rows" in page and "trajectory" in page
    # the restricted-zone read is in the lake's audit trail, without any identifier value
    audit = read_audit(tmp_path / "data", EXTRACT_LOG)
    assert len(audit) == 1 and audit[0]["zone"] == "restricted" and audit[0]["recipient"] == "partner"
    assert audit[0]["columns"][:3] == ["geo_h3", "app_platform", "properties.service"]


def test_event_level_lake_extract_carries_no_person_id_by_default(tmp_path):
    build_lake_week(tmp_path / "data", people=120, days=1)
    out = tmp_path / "partner"
    result = CliRunner().invoke(extract_command, [
        "--from-lake", str(tmp_path / "data"), "--columns", "app_platform,service", "--k", "3",
        "--suppression", "0.2", "--out", str(out), "--progress", "off"])
    assert result.exit_code == 0, result.output
    assert list(pd.read_parquet(out / "extract.parquet").columns) == ["app_platform", "service"]
    report = json.loads((out / "report.json").read_text())
    assert report["trajectories"] is None and report["rekey_key"] == "none"
    assert "No person identifier is released" in (out / "report.html").read_text()


def test_lake_errors_are_one_clear_line(tmp_path):
    build_lake_week(tmp_path / "data", people=20, days=1)
    for extra, message in [
        (["--days", "2020-01-01"], "none of these days is in the lake"),
        (["--columns", "nosuch"], "has no such column"),
        (["--zone", "aggregates"], "an extract reads"),
    ]:
        args = ["--from-lake", str(tmp_path / "data"), "--columns", "app_platform", "--k", "2",
                "--out", str(tmp_path / "o"), "--progress", "off"]
        result = CliRunner().invoke(extract_command, args + extra)
        assert result.exit_code != 0 and message in result.stderr, (extra, result.stderr)
        assert not (tmp_path / "o").exists()
