"""Tests for the ARX CSV hierarchy loader, the builders and `COL=HIERARCHY` parsing."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from pipeline.hierarchies import BUILDERS, HierarchyError, load_arx_csv, parse_hierarchy_arg


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
        # date truncation, finest first
        ("date:hour,day,month,year", ["2024-03-05 10:15:00", "2024-03-06 23:59:00"],
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
    assert set(BUILDERS) == {"interval", "date", "h3", "prefix", "districts"}
