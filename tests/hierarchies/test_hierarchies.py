"""Tests for the ARX CSV hierarchy loader, the builders and `COL=HIERARCHY` parsing."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from pipeline.hierarchies import (BUILDERS, NULL_LEAF, HierarchyError, load_arx_csv, parse_hierarchy_arg,
                                  spec_from_policy)
from pipeline.policy.model import Hierarchy as PolicyHierarchy


def write(tmp_path, text, name="h.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_arx_csv_loads_levels_and_counts_leaves(tmp_path):
    path = write(tmp_path, "a;ab;*\nb;ab;*\nc;c;*\n")
    hierarchy = load_arx_csv(path, name="x")
    assert hierarchy.height == 2
    assert list(hierarchy.leaves) == ["a", "b", "c"]
    # label "ab" covers two leaves, "c" one; the top covers all three
    assert dict(zip(hierarchy.level_values(1), hierarchy.leaves_covered(1))) == {"ab": 2, "c": 1}
    assert hierarchy.leaves_covered(2).tolist() == [3]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a;x;*\nb;y\n", "line 2 has 2 columns"),  # ragged rows
        ("a;x;*\nb;x;top\n", "maps to more than one parent"),  # label x has parents * and top
        ("a;x;*\na;y;*\n", "appears on more than one row"),  # duplicate leaf
        ("\n\n", "has no rows"),  # empty file
    ],
)
def test_arx_csv_rejects_malformed_files(tmp_path, text, message):
    with pytest.raises(HierarchyError, match=message):
        load_arx_csv(write(tmp_path, text))


def test_arx_csv_missing_file_is_a_hierarchy_error(tmp_path):
    with pytest.raises(HierarchyError, match="cannot read"):
        load_arx_csv(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    "spec, values, expected_levels",
    [
        # widths 5 then 10: 7 -> [5, 10) -> [0, 10) -> *
        ("interval:width=5,10", ["7", "12"], [["[5, 10)", "[10, 15)"], ["[0, 10)", "[10, 20)"], ["*", "*"]]),
        # origin shifts the bins
        ("interval:width=10;origin=5", ["7", "16"], [["[5, 15)", "[15, 25)"], ["*", "*"]]),
        # bare widths are accepted too
        ("interval:2", ["0", "3"], [["[0, 2)", "[2, 4)"], ["*", "*"]]),
        # date truncation, finest first, in an explicit zone
        ("date:hour,day,month,year;tz=UTC", ["2024-03-05 10:15:00", "2024-03-06 23:59:00"],
         [["2024-03-05T10", "2024-03-06T23"], ["2024-03-05", "2024-03-06"], ["2024-03", "2024-03"],
          ["2024", "2024"], ["*", "*"]]),
        # masking trailing characters; shorter strings are masked entirely
        ("prefix:1,2,3", ["10115", "ab"], [["1011*", "a*"], ["101**", "**"], ["10***", "**"], ["*", "*"]]),
    ],
)
def test_builders_produce_expected_levels(spec, values, expected_levels):
    hierarchy = parse_hierarchy_arg(f"col={spec}").materialize(np.array(values, dtype=object))
    assert [list(hierarchy.labels[:, level]) for level in range(1, hierarchy.height + 1)] == expected_levels


def test_h3_builder_uses_parent_cells():
    cell = h3.latlng_to_cell(52.52, 13.40, 9)
    other = h3.latlng_to_cell(48.14, 11.58, 9)
    hierarchy = parse_hierarchy_arg("cell=h3:8,5").materialize(np.array([cell, other], dtype=object))
    assert list(hierarchy.labels[:, 1]) == [h3.cell_to_parent(cell, 8), h3.cell_to_parent(other, 8)]
    assert list(hierarchy.labels[:, 2]) == [h3.cell_to_parent(cell, 5), h3.cell_to_parent(other, 5)]
    assert list(hierarchy.labels[:, 3]) == ["*", "*"]


@pytest.mark.parametrize(
    "argument, message",
    [
        ("age", "expected COL=HIERARCHY"),  # no '='
        ("age=interval:width=5,7", "not a multiple"),  # bins would not nest
        ("age=interval:width=-1", "positive width"),  # non-positive width
        ("age=interval:step=5", "unknown parameter"),  # unknown key
        ("t=date:day,hour", "finer to coarser"),  # wrong order
        ("t=date:fortnight", "unknown unit"),  # unknown unit
        ("c=h3:5,8", "strictly decrease"),  # resolutions must get coarser
        ("c=h3:16", "between 0 and 15"),  # out of range
        ("t=date:day,week,month", "do not nest in months"),  # ISO weeks straddle months
        ("t=date:day;tz=Mars/Olympus", "unknown time zone"),  # not an IANA zone
        ("t=date:hour_of_day,day", "do not nest in calendar units"),  # clock and calendar mixed
        ("t=date:day;zone=UTC", "unknown option"),  # misspelt option
        ("os=star:1", "takes no parameters"),  # star has none
        ("z=prefix:2,1", "strictly increasing"),  # masks must grow
        ("z=nosuch:1", "unknown hierarchy kind"),  # unknown builder
        ("z=/no/such/file.csv", "does not exist"),  # missing file
    ],
)
def test_specs_are_validated_when_parsed(argument, message):
    with pytest.raises(HierarchyError, match=message):
        parse_hierarchy_arg(argument)


@pytest.mark.parametrize(
    "spec, values, message",
    [
        ("interval:5", ["1", "x"], "not a number"),  # non-numeric leaf
        ("date:day", ["2024-01-01", "soon"], "not a date"),  # unparseable date
        ("h3:5", ["not-a-cell"], "not a valid H3 cell"),  # invalid cell
    ],
)
def test_builders_reject_values_they_cannot_generalize(spec, values, message):
    with pytest.raises(HierarchyError, match=message):
        parse_hierarchy_arg(f"col={spec}").materialize(np.array(values, dtype=object))


def test_registry_lists_every_builder_by_name():
    assert set(BUILDERS) == {"interval", "date", "h3", "prefix", "star", "districts"}


def levels_of(spec: str, values: list) -> list[list]:
    hierarchy = parse_hierarchy_arg(f"col={spec}").materialize(np.array(values, dtype=object))
    rows = {leaf: list(row) for leaf, row in zip(hierarchy.leaves, hierarchy.labels)}
    return [rows[v] for v in values]


def test_h3_mixed_resolutions_stay_when_already_coarser():
    fine = h3.latlng_to_cell(51.16, 71.47, 8)
    coarse = h3.cell_to_parent(h3.latlng_to_cell(51.30, 71.20, 8), 6)  # the lake writes res 6 where GPS was poor
    rows = levels_of("h3:7,6,5", [fine, coarse])
    # the res-8 cell climbs 7 -> 6 -> 5; the res-6 cell stays itself at levels 7 and 6, then its res-5 parent
    assert rows[0] == [fine, h3.cell_to_parent(fine, 7), h3.cell_to_parent(fine, 6), h3.cell_to_parent(fine, 5), "*"]
    assert rows[1] == [coarse, coarse, coarse, h3.cell_to_parent(coarse, 5), "*"]


def test_star_builder_and_nulls_as_their_own_leaf():
    assert levels_of("star", ["Android", "iOS", NULL_LEAF]) == [["Android", "*"], ["iOS", "*"], [NULL_LEAF, "*"]]
    # a null never reaches the builder: it stays null below the top of an H3 ladder too
    cell = h3.latlng_to_cell(51.16, 71.47, 8)
    assert levels_of("h3:7", [cell, NULL_LEAF])[1] == [NULL_LEAF, NULL_LEAF, "*"]


def test_arx_file_gets_a_null_leaf_when_the_data_has_nulls(tmp_path):
    path = write(tmp_path, "a;ab;*\nb;ab;*\n")
    spec = parse_hierarchy_arg(f"c={path}")
    hierarchy = spec.materialize(np.array(["a", NULL_LEAF], dtype=object))
    assert [list(r) for r in hierarchy.labels] == [["a", "ab", "*"], ["b", "ab", "*"], [NULL_LEAF, NULL_LEAF, "*"]]
    assert spec.materialize(np.array(["a"], dtype=object)).labels.shape == (2, 3)  # no nulls: file unchanged


@pytest.mark.parametrize(
    "spec, value, expected",
    [
        # 20:30 UTC on Sunday 2024-03-03 is 01:30 on Monday the 4th in Almaty (UTC+5 since 2024-03-01)
        ("date:hour,day,week", "2024-03-03T20:30:00Z", ["2024-03-04T01", "2024-03-04", "2024-W10"]),
        # the same instant cut in UTC stays on Sunday, ISO week 9
        ("date:hour,day,week;tz=UTC", "2024-03-03T20:30:00Z", ["2024-03-03T20", "2024-03-03", "2024-W09"]),
        # before 2024-03-01 Almaty was UTC+6: zoneinfo's history, not a fixed offset
        ("date:hour", "2024-02-01T18:30:00Z", ["2024-02-02T00"]),
        # the clock ladder: hour of day and part of day in local time (20:30 UTC = 01:30 in Almaty)
        ("date:hour_of_day,part_of_day", "2024-03-03T20:30:00Z", ["01", "night (00-06)"]),
        # a week that straddles New Year belongs to its ISO year
        ("date:week,year;tz=UTC", "2024-12-30 12:00", ["2025-W01", "2025"]),
    ],
)
def test_dates_cut_in_the_time_zone_with_weeks(spec, value, expected):
    assert levels_of(spec, [value])[0][1:-1] == expected


def test_date_zone_defaults_to_the_policy_zone():
    spec = parse_hierarchy_arg("t=date:day", defaults={"time_zone": "UTC"})
    assert spec.params["tz"] == "UTC"
    assert parse_hierarchy_arg("t=date:day").params["tz"] == "Asia/Almaty"  # the deployment's default


def test_policy_ladders_become_the_same_builders():
    h3_spec = spec_from_policy("geo_h3", PolicyHierarchy(kind="h3", resolutions=[7, 6]))
    assert (h3_spec.builder, h3_spec.params, h3_spec.height) == ("h3", {"resolutions": [7, 6]}, 3)
    assert spec_from_policy("os_family", PolicyHierarchy(kind="star")).height == 1


@pytest.mark.parametrize("spec", ["h3:7,6", "star", "date:hour,day;tz=UTC", "prefix:1,2", "interval:5,10"])
def test_value_wise_generalize_agrees_with_the_materialized_tree(spec):
    values = {
        "h3": [h3.latlng_to_cell(51.16, 71.47, 8), h3.cell_to_parent(h3.latlng_to_cell(51.3, 71.2, 8), 6)],
        "star": ["a", "b"], "date": ["2024-01-01 10:00", "2024-01-02 11:00"], "prefix": ["10115", "10117"],
        "interval": ["3", "12"],
    }[spec.partition(":")[0]] + [NULL_LEAF]
    parsed = parse_hierarchy_arg(f"c={spec}")
    tree = parsed.materialize(np.array(values, dtype=object))
    for level in range(tree.height + 1):
        expected = [tree.labels[list(tree.leaves).index(v), level] for v in values]
        assert list(parsed.generalize(np.array(values, dtype=object), level)) == expected


def test_file_hierarchy_generalizes_batches_like_its_tree(tmp_path):
    path = write(tmp_path, "a;ab;*\nb;ab;*\nc;c;*\n")
    spec = parse_hierarchy_arg(f"c={path}")
    values = np.array(["c", "a", "b", "a"], dtype=object)
    assert list(spec.generalize(values, 1)) == ["c", "ab", "ab", "ab"]
    assert list(spec.generalize(values, 2)) == ["*"] * 4
    with pytest.raises(HierarchyError, match="no entry"):
        spec.generalize(np.array(["z"], dtype=object), 1)
