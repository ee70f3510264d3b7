"""A generated week in a lake, made with the pipeline's own stage cores (no broker): what the report tests read.

Events come from the generator, thinned by local hour of day (people use the app by day), pass the real
pseudonymize core under the given policy, and are released per hour and stage partition by the real k-anonymity
core, as the kanon agent does; then the daily and monthly people release runs.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
from zoneinfo import ZoneInfo

import pytest

from pipeline.generate import TelemetryGenerator
from pipeline.kanon.core import link_people, pre_aggregate, release_window
from pipeline.kanon.stats import release_tables, withhold
from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS
from pipeline.lake.people_release import release_people
from pipeline.lake.writer import write_batch
from pipeline.policy.loader import CompiledPolicy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import EVENT_TIME_MS, parse_time_ms

ALMATY = ZoneInfo("Asia/Almaty")
# Sunday 2026-12-06 24:00 local: the week is Monday 2026-11-30 … Sunday 2026-12-06, local time.
WEEK_END = dt.datetime(2026, 12, 7, tzinfo=ALMATY)
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 3, 2]  # local hours
STATUSES = ["new", "in_progress", "resolved", "rejected"]
PARTITIONS = 3


def ring() -> KeyRing:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return KeyRing([Key("week", start, start + dt.timedelta(days=61), ACTIVE, b"\x5a" * 32)])


def week_events(count: int, seed: int = 21) -> list[dict]:
    """About `count` events over the week, with a day-time pattern and statuses on appeal status events."""
    rng = random.Random(seed)
    generator = TelemetryGenerator(seed=seed, end=WEEK_END.astimezone(dt.UTC), hours=7 * 24,
                                   users=max(60, count // 40))
    events = []
    for event in generator.events(count * 2):
        time_ms = parse_time_ms(event["occurred_at"])
        local_hour = dt.datetime.fromtimestamp(time_ms / 1000, ALMATY).hour
        weekend = dt.datetime.fromtimestamp(time_ms / 1000, ALMATY).weekday() >= 5
        if rng.random() * 10 > HOUR_WEIGHTS[local_hour] * (0.6 if weekend else 1.0):
            continue
        if event["event_type"] == "appeal_status":
            event["properties"]["status"] = rng.choice(STATUSES)
        event[EVENT_TIME_MS] = time_ms
        events.append(event)
    return events


def build_week_lake(data_dir: Path, policy: CompiledPolicy, count: int = 12_000, seed: int = 21) -> dict:
    """Write the pseudonymized zone, hourly aggregates and window stats, then daily/monthly people."""
    events = week_events(count, seed)
    tables = []
    for i in range(0, len(events), 4000):
        batch = pseudonymize_batch(events[i:i + 4000], policy, ring())
        assert not batch.rejects, batch.rejects[:1]
        write_batch(data_dir, PSEUDONYMIZED, batch.table, f"week-{i:07d}")
        tables.append(batch.table)
    config = policy.policy.kanon
    time_column = next(op.output for op in policy.operators if op.name == "time_bucket")
    released: dict[str, list] = defaultdict(list)
    for partition in range(PARTITIONS):
        windows: dict[int, dict] = defaultdict(dict)
        for table in tables:
            mine = [zlib.crc32(v.encode()) % PARTITIONS == partition for v in table.column("event_type").to_pylist()]
            for (window, cell), update in pre_aggregate(table.filter(mine), config, time_column).items():
                state = windows[window].get(cell)
                if state is None:
                    windows[window][cell] = update
                else:
                    state.events += update.events
                    state.subjects |= update.subjects
                    state.sensitive |= update.sensitive
        for window, cells in sorted(windows.items()):
            by_value: dict[str, dict] = defaultdict(dict)
            for cell, state in link_people(cells).items():  # as the agent: people linked per window and partition
                by_value[cell[0]][cell] = state
            releases = [release_window(group, config) for _, group in sorted(by_value.items())]
            aggregates, stats = release_tables(window, releases, config, policy.version, partition)
            released[AGGREGATES].append(aggregates)
            released[WINDOW_STATS].append(withhold(stats, config.k))
    for zone, parts in released.items():  # one file per zone and date: the sink writes few large files too
        write_batch(data_dir, zone, pa.concat_tables(parts), f"week-{zone}")
    people = release_people(data_dir, policy, stage_partitions=PARTITIONS)
    return {"events": len(events), "people_release": people}


GEOJSON = Path(__file__).parents[1] / "data" / "districts-synthetic.geojson"


def week_policy(path: Path, k: int | None = None) -> Path:
    """The default policy with the synthetic districts (and, optionally, another k), written to `path`."""
    import yaml

    from pipeline.policy.loader import DEFAULT_POLICY_PATH
    data = yaml.safe_load(Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8"))
    data["districts"] = {"geojson": str(GEOJSON), "city": "Astana (synthetic)"}
    # Sparse cells roll up to their district, then the city (not to coarser hexagons): what analysts ask for.
    data["kanon"]["quasi_identifiers"]["geo_h3"] = {"kind": "districts"}
    data["kanon"]["rollup_order"] = ["geo_h3", "app_major", "device_class", "os_family", "status", "screen",
                                     "geo_h3", "service", "geo_h3"]
    # Free text plays no part in the statistics; dropping it spares the tests Presidio's start-up.
    data["fields"]["text"] = {"operator": "drop"}
    if k is not None:
        data["kanon"]["k"] = k
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def week_lake(tmp_path_factory) -> tuple[Path, CompiledPolicy]:
    """(data dir, policy) of a generated week, built once per test session."""
    from pipeline.policy.loader import load_policy
    root = tmp_path_factory.mktemp("week")
    policy = load_policy(week_policy(root / "policy.yaml"))
    build_week_lake(root / "data", policy, count=6_000)
    return root / "data", policy
