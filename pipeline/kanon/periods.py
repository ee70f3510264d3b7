"""Daily and monthly releases of distinct people per scope, safe to publish beside the hourly aggregates.

A *scope* fixes some attributes to one value each (event type, service, district…; the rest are "any") over a
period (a local day or month). A release row says how many distinct people (identifiers linked within the period,
pipeline/linkage.py) had at least one event in the scope. Rows are grouping sets, not a roll-up: a daily
row for `service=housing` counts everyone who touched housing that day, whatever else they did.

Publication rule, checked row by row, coarsest scope first, against everything already published (hourly
aggregates, window statistics, earlier daily and monthly rows, and the rows of this release before it):
1. the row covers ≥ k people;
2. nested pairs: for every published row whose scope may lie inside this row's scope (or this row inside it),
   the difference of the two people counts is 0 or ≥ k;
3. complements: for every attribute that refines a scope by one more value (the sibling rows: service=housing,
   service=roads, … under the day's total), the people of the published siblings, added up, reach the parent's
   people or fall short of them by ≥ k (0 included).
A row failing a test is withheld (never published, never counted anywhere). Events are not published per day:
they add up, and a daily event count minus the hourly rows of the same cell would be the suppressed events.

Why no combination isolates fewer than k people (docs/kanon.md has the long form): people counts do not add up
(one person can be in many rows), so from published counts an attacker learns exact group sizes only by
subtracting the count of a set from the count of a set that holds it: |A \\ B| = |A| − |B| when B ⊆ A, which
rule 2 keeps at 0 or ≥ k. For more rows B₁…Bₙ inside A, |A \\ ∪Bᵢ| is only bounded: at most |A| − maxᵢ|Bᵢ| (0 or
≥ k by rule 2) and at least |A| − Σ|Bᵢ|; rule 3 keeps that lower end at 0 or ≥ k for the sibling rows an
attacker would assume disjoint (people who used one service that day). What is left is an attacker who assumes
disjointness of rows that are not siblings; no exact release of overlapping counts can exclude that (a noisy,
differentially private release can).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np
import pyarrow as pa

from pipeline.kanon.hierarchy import UNKNOWN
from pipeline.linkage import subject_ids, table_columns

ANY = "*"
# Grouping sets published by default: attributes a scope fixes (the others are "any"). Finest last.
DEFAULT_GROUPINGS: tuple[tuple[str, ...], ...] = (
    (), ("event_type",), ("service",), ("district",), ("event_type", "service"), ("service", "district"))


@dataclass(frozen=True)
class PeopleRow:
    """A published (or candidate) count of distinct people over [start_ms, end_ms) in a scope."""

    start_ms: int
    end_ms: int
    scope: tuple[tuple[str, str], ...]  # (attribute, value), attributes in a fixed order
    people: int
    # Attributes on which the row may be narrower than its scope says (e.g. a window-statistics row covers the
    # event types of one stage partition): treated as possibly inside any value of them, or, when `loose_values`
    # lists values for the attribute, inside any of those.
    loose: frozenset[str] = field(default_factory=frozenset)
    loose_values: tuple[tuple[str, frozenset], ...] = ()

    def value(self, attribute: str) -> str | None:
        return dict(self.scope).get(attribute)


def may_lie_inside(inner: PeopleRow, outer: PeopleRow) -> bool:
    """Could every person of `inner` be in `outer`, as an attacker reading both labels could conclude?"""
    if not (outer.start_ms <= inner.start_ms and inner.end_ms <= outer.end_ms):
        return False
    scope, values = dict(inner.scope), dict(inner.loose_values)
    return all(scope.get(a) == v or (a in inner.loose and (a not in values or v in values[a])) for a, v in outer.scope)


def scope_people(table: pa.Table, subject_columns: list[str], groupings: Iterable[tuple[str, ...]],
                 labels: Mapping[str, Callable[[pa.Table], list[str]]]) -> dict[tuple, set[int]]:
    """Rows of one period → {scope: set of person ids}; people are linked over all the period's rows."""
    if table.num_rows == 0:
        return {}
    people = subject_ids(table_columns(table, subject_columns))
    values = {a: labels[a](table) for a in {a for g in groupings for a in g}}
    out: dict[tuple, set[int]] = {}
    has_person = people >= 0
    for grouping in groupings:
        columns = [values[a] for a in grouping]
        for person, *key in zip(people[has_person].tolist(), *[np.asarray(c, dtype=object)[has_person] for c in columns]):
            out.setdefault(tuple(zip(grouping, key)), set()).add(person)
    return out


def _gap_ok(a: int, b: int, k: int) -> bool:
    """Two counts of possibly nested scopes: equal, or at least k apart (either way: people are linked per period,
    so an hourly count may exceed the daily count of a scope that holds it)."""
    return a == b or abs(a - b) >= k


def release_period(start_ms: int, end_ms: int, people: dict[tuple, set[int]], k: int,
                   published: list[PeopleRow]) -> tuple[list[PeopleRow], int]:
    """Apply the publication rule (module docstring); returns the rows published and how many were withheld.

    Coarsest scopes first (the day's total, then one attribute, then pairs), larger counts first: what analysts
    read most is offered first, and each later row is checked against everything published before it, so the
    rules hold on the final set (rows are only ever added).
    """
    candidates = sorted(people.items(), key=lambda item: (len(item[0]), -len(item[1]), item[0]))
    out: list[PeopleRow] = []
    withheld = 0
    for scope, members in candidates:
        row = PeopleRow(start_ms, end_ms, scope, len(members))
        if row.people < k or not _consistent(row, published + out, k):
            withheld += 1
            continue
        out.append(row)
    return out, withheld


def _sibling_attribute(child: PeopleRow, parent: PeopleRow) -> str | None:
    """The one attribute `child` fixes beyond `parent`'s scope, same period; None if not such a sibling."""
    if child.loose or (child.start_ms, child.end_ms) != (parent.start_ms, parent.end_ms):
        return None
    extra = {a for a, _ in child.scope} - {a for a, _ in parent.scope}
    return extra.pop() if len(extra) == 1 and may_lie_inside(child, parent) else None


def _complement_ok(parent: int, siblings: int, k: int) -> bool:
    # Siblings adding up to at least the parent leave no lower bound to learn; else they fall short by ≥ k.
    return siblings >= parent or parent - siblings >= k


def _consistent(row: PeopleRow, published: list[PeopleRow], k: int) -> bool:
    """Rules 2 and 3 for `row` joining `published` (which already satisfies them)."""
    for other in published:
        if (may_lie_inside(other, row) or may_lie_inside(row, other)) and not _gap_ok(row.people, other.people, k):
            return False
    # Rule 3 with `row` as a parent, and for every published parent `row` would add to.
    own: dict[str, int] = defaultdict(int)
    for other in published:
        attribute = _sibling_attribute(other, row)
        if attribute:
            own[attribute] += other.people
    if not all(_complement_ok(row.people, total, k) for total in own.values()):
        return False
    for parent in published:
        attribute = _sibling_attribute(row, parent)
        if attribute:
            total = row.people + sum(o.people for o in published if _sibling_attribute(o, parent) == attribute)
            if not _complement_ok(parent.people, total, k):
                return False
    return True


def hourly_scope(row: Mapping[str, object], attributes: Iterable[str], district_of: Callable[[str], str | None] | None,
                 geo_column: str = "geo_h3") -> tuple[tuple[str, str], ...]:
    """An hourly aggregate row as a scope over the people attributes: values it pins down, '*' ones left out."""
    scope = []
    for attribute in attributes:
        if attribute == "district":
            geo = row.get(geo_column)
            value = None if geo in (None, ANY) else (UNKNOWN if geo == UNKNOWN else (district_of(geo) if district_of else None))
        else:
            value = row.get(attribute)
        if value is not None and value != ANY:
            scope.append((attribute, str(value)))
    return tuple(scope)
