"""Daily and monthly distinct people: recounted independently, and attacked by subtracting published counts."""

from __future__ import annotations

import datetime as dt
import shutil
import zlib
from collections import defaultdict
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pipeline.common.districts import load_districts
from pipeline.generate import EVENT_TYPES
from pipeline.kanon import periods
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, WINDOW_STATS, zone_dir
from pipeline.lake.people_release import release_people
from pipeline.lake.writer import write_batch

from .week_lake import GEOJSON, PARTITIONS
from people_oracle import UnionFind

ALMATY = ZoneInfo("Asia/Almaty")
ATTRIBUTES = ("event_type", "service", "district")


def zone(data_dir, name) -> list[dict]:
    root = zone_dir(data_dir, name)
    if not root.is_dir():
        return []
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pylist()


def people_of(rows: list[dict], columns: list[str]) -> list:
    """Own union-find over the identifier columns co-occurring in a row (not pipeline/linkage.py)."""
    people = UnionFind()
    for row in rows:
        ids = [(c, row[c]) for c in columns if row[c]]
        for other in ids[1:]:
            people.union(ids[0], other)
    return [people.find(next((c, r[c]) for c in columns if r[c])) for r in rows]


def published_counts(data_dir) -> list[dict]:
    """Every published people count as an attacker reads it: period, fixed attributes, people."""
    districts = load_districts(GEOJSON, city="Astana (synthetic)")
    out = []
    for row in zone(data_dir, AGGREGATES):
        geo = row["geo_h3"]
        scope = {"event_type": row["event_type"], "service": row["service"],
                 "district": None if geo == "*" else ("unknown" if geo == "unknown" else districts.district_of(geo))}
        out.append({"start": row["window_start"], "end": row["window_end"], "people": row["users"], "loose": False,
                    "scope": {a: v for a, v in scope.items() if v not in (None, "*")}, "kind": "hour"})
    for row in zone(data_dir, WINDOW_STATS):
        if row["kind"] == "window" and row["users"] is not None:
            # the partition of an event type is public (crc32 mod the partition count): the attacker knows which
            # event types a stats row may hold
            types = {t for t in EVENT_TYPES if zlib.crc32(t.encode()) % PARTITIONS == row["partition"]}
            out.append({"start": row["window_start"], "end": row["window_end"], "people": row["users"],
                        "scope": {}, "loose": types, "kind": "stats"})
    for row in zone(data_dir, PEOPLE):
        out.append({"start": row["period_begin"], "end": row["period_end"], "people": row["people"], "loose": False,
                    "scope": {a: row[a] for a in ATTRIBUTES if row.get(a) not in (None, "*")}, "kind": row["period"]})
    return out


def nested(inner: dict, outer: dict) -> bool:
    if not (outer["start"] <= inner["start"] and inner["end"] <= outer["end"]) or inner is outer:
        return False
    return all(inner["scope"].get(a) == v or (inner["loose"] and a == "event_type" and v in inner["loose"])
               for a, v in outer["scope"].items())


def subtraction_attack(data_dir, k: int) -> list[tuple]:
    """Pairs of nested counts whose difference would be a group of 1…k-1 people, and sibling sums likewise."""
    counts = published_counts(data_dir)
    found = []
    coarse = [c for c in counts if c["kind"] in ("day", "month")]
    for outer in coarse:
        for inner in counts:
            for a, b in ((outer, inner), (inner, outer)):
                if nested(b, a) and 0 < abs(a["people"] - b["people"]) < k:
                    found.append(("pair", a["kind"], a["scope"], a["people"], b["kind"], b["scope"], b["people"]))
        siblings = defaultdict(int)
        for inner in coarse:
            extra = set(inner["scope"]) - set(outer["scope"])
            if (inner["start"], inner["end"]) == (outer["start"], outer["end"]) and len(extra) == 1 \
                    and nested(inner, outer):
                siblings[extra.pop()] += inner["people"]
        for attribute, total in siblings.items():
            if 0 < outer["people"] - total < k:
                found.append(("complement", outer["kind"], outer["scope"], outer["people"], attribute, total))
    return found


def test_every_daily_and_monthly_row_is_the_true_number_of_people_and_at_least_k(week_lake):
    data_dir, policy = week_lake
    k = policy.policy.kanon.k
    districts = load_districts(GEOJSON, city="Astana (synthetic)")
    events = zone(data_dir, PSEUDONYMIZED)
    released = zone(data_dir, PEOPLE)
    assert {r["period"] for r in released} == {"day", "month"}
    assert len({r["period_start"] for r in released if r["period"] == "day"}) == 7  # the whole local week
    by_period = defaultdict(list)
    for row in released:
        by_period[(row["period_begin"], row["period_end"])].append(row)
    for (begin, end), rows in by_period.items():
        mine = [e for e in events if begin <= e["event_hour"] < end]
        person = people_of(mine, list(policy.policy.kanon.subject_columns))
        for row in rows:
            scope = {a: row[a] for a in ATTRIBUTES if row[a] != "*"}
            covered = {p for e, p in zip(mine, person) if all(
                (districts.district_of(e["geo_h3"]) if a == "district" else (e[a] or "unknown")) == v
                for a, v in scope.items())}
            assert row["people"] == len(covered) >= k, (row, len(covered))
    total_days = [r for r in released if r["period"] == "day" and all(r[a] == "*" for a in ATTRIBUTES)]
    assert len(total_days) == 7  # daily distinct people, every day of the week


def test_no_subtraction_of_published_counts_isolates_fewer_than_k_people(week_lake):
    data_dir, policy = week_lake
    assert subtraction_attack(data_dir, policy.policy.kanon.k) == []


def test_the_attack_succeeds_when_the_rules_are_switched_off(week_lake, tmp_path, monkeypatch):
    """The same attacker against a release without rules 2 and 3: it must find groups under k (the test can fail)."""
    data_dir, policy = week_lake
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    shutil.rmtree(zone_dir(copy, PEOPLE))
    monkeypatch.setattr(periods, "_consistent", lambda row, published, k: True)
    release_people(copy, policy, stage_partitions=PARTITIONS)
    found = subtraction_attack(copy, policy.policy.kanon.k)
    assert found, "with the rules off, nested counts differ by 1…k-1 somewhere in a week"
    # and the inference is exact: for a nested pair of daily rows the true difference is the published one
    kinds = {(f[1], f[4]) for f in found if f[0] == "pair"}
    assert kinds & {("day", "hour"), ("month", "day"), ("day", "day"), ("hour", "day"), ("day", "month")}


def test_a_released_period_is_final_and_an_unfinished_one_waits(week_lake, tmp_path):
    data_dir, policy = week_lake
    again = release_people(data_dir, policy, stage_partitions=PARTITIONS)
    assert all(r.published == 0 for r in again)
    assert {r.skipped for r in again if r.period == "day"} == {"already released (a release is final)"}
    # drop the window stats of the last hour (that day is not over), and of one partition at noon on Dec 3
    # (an hour of that day is not released): both days must wait, the others not
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    shutil.rmtree(zone_dir(copy, PEOPLE))
    stats = ds.dataset(zone_dir(copy, WINDOW_STATS), format="parquet", partitioning="hive").to_table()
    noon = dt.datetime(2026, 12, 3, 12, tzinfo=ALMATY)
    rows = stats.to_pylist()
    last = max(r["window_start"] for r in rows)
    partition = min(r["partition"] for r in rows if r["window_start"] == noon)
    kept = [r for r in rows if r["window_start"] != last and not (r["window_start"] == noon and r["partition"] == partition)]
    shutil.rmtree(zone_dir(copy, WINDOW_STATS))
    write_batch(copy, WINDOW_STATS, pa.Table.from_pylist(kept, schema=stats.schema), "without-some")
    results = {(r.period, r.local_start): r for r in release_people(copy, policy, stage_partitions=PARTITIONS)}
    assert results[("day", dt.date(2026, 12, 6))].skipped.startswith("not over yet")
    assert results[("day", dt.date(2026, 12, 3))].skipped == "1 hour(s) of it not released yet"
    assert results[("day", dt.date(2026, 12, 4))].published > 0
