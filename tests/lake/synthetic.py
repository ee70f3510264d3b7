"""Synthetic lake contents for tests: pseudonymized events, aggregates and window stats written via write_batch."""

from __future__ import annotations

import datetime as dt
import json
import random

import h3
import pyarrow as pa

from pipeline.keys.pseudonym import pseudonym
from pipeline.keys.ring import ACTIVE, Key, KeyRing
from pipeline.lake.layout import AGGREGATES, PSEUDONYMIZED, WINDOW_STATS
from pipeline.lake.writer import write_batch

UTC = dt.timezone.utc
TS = pa.timestamp("ms", tz="UTC")
ASTANA = (51.1605, 71.4704)
EVENT_TYPES = ["app_open", "screen_view", "request_created", "request_status", "search"]
OS = ["Android", "iOS", "HarmonyOS"]
DEVICE_CLASSES = ["phone", "tablet"]


def test_ring() -> KeyRing:
    """Two monthly keys (Jan and Feb 2025) with fixed test-only secrets."""
    def key(key_id, start, end, fill):
        return Key(key_id, dt.datetime(*start, tzinfo=UTC), dt.datetime(*end, tzinfo=UTC), ACTIVE, bytes([fill]) * 32)
    return KeyRing([key("m20250101", (2025, 1, 1), (2025, 2, 1), 7), key("m20250201", (2025, 2, 1), (2025, 3, 1), 9)])


def pseudonymized_table(ring: KeyRing, day: dt.date, n: int, rng: random.Random, users: list[str],
                        batch_id: str, extra_columns: dict | None = None) -> pa.Table:
    """Rows as the pseudonymize stage writes them; user/device pseudonyms come from the real HMAC function."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    key = next(k for k in ring.keys if k.covers_ms(int(start.timestamp() * 1000)))
    rows = []
    for i in range(n):
        user = rng.choice(users)
        hour = start + dt.timedelta(hours=rng.randrange(24))
        lat, lng = ASTANA[0] + rng.uniform(-0.08, 0.08), ASTANA[1] + rng.uniform(-0.12, 0.12)
        rows.append({
            "event_id": f"{batch_id}-{i}",
            "event_type": rng.choice(EVENT_TYPES),
            "event_hour": hour,
            "app_platform": "android",
            "app_major": str(rng.choice([3, 4])),
            "user_pseudonym": pseudonym(key.secret, "user_id", user, 16),
            "device_pseudonym": pseudonym(key.secret, "device_id", f"dev-{user}", 16),
            "cookie_pseudonym": None,
            "session_pseudonym": pseudonym(key.secret, "session_id", f"s-{user}-{hour:%H}", 16),
            "ip_prefix": f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
            "geo_h3": h3.latlng_to_cell(lat, lng, 8),
            "geo_h3_res": 8,
            "browser_family": None, "browser_major": None, "ua_os_family": "Android", "ua_device_class": "phone",
            "device_manufacturer": rng.choice(["Samsung", "Xiaomi", "Apple"]),
            "device_class": rng.choice(DEVICE_CLASSES), "os_family": rng.choice(OS), "os_major": "14",
            "screen_bucket": "1080x2400", "locale_language": "ru", "network": "wifi",
            "properties": json.dumps({"screen": "home"}), "text": None,
            "policy_version": "test", "key_id": key.key_id, "batch_id": batch_id, "event_date": day,
        })
    table = pa.Table.from_pylist(rows, schema=PSEUDONYMIZED_SCHEMA)
    for name, values in (extra_columns or {}).items():
        table = table.append_column(name, pa.array(values))
    return table


PSEUDONYMIZED_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("event_type", pa.string()), ("event_hour", TS), ("app_platform", pa.string()),
     ("app_major", pa.string())]
    + [(c, pa.string()) for c in ("user_pseudonym", "device_pseudonym", "cookie_pseudonym", "session_pseudonym",
                                  "ip_prefix", "geo_h3")]
    + [("geo_h3_res", pa.int8())]
    + [(c, pa.string()) for c in ("browser_family", "browser_major", "ua_os_family", "ua_device_class",
                                  "device_manufacturer", "device_class", "os_family", "os_major", "screen_bucket",
                                  "locale_language", "network", "properties", "text", "policy_version", "key_id",
                                  "batch_id")]
    + [("event_date", pa.date32())])


def aggregates_table(day: dt.date, rng: random.Random, batch_id: str, k: int = 5) -> pa.Table:
    rows = []
    for hour in range(24):
        window_start = dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        for _ in range(rng.randrange(3, 9)):
            lat, lng = ASTANA[0] + rng.uniform(-0.1, 0.1), ASTANA[1] + rng.uniform(-0.15, 0.15)
            level = rng.choice([0, 0, 0, 1, 2, 3])
            cell = "*" if level == 3 else h3.latlng_to_cell(lat, lng, 8 - level)
            users = rng.randrange(k, 40)
            rows.append({
                "window_start": window_start, "window_end": window_start + dt.timedelta(hours=1),
                "event_type": rng.choice(EVENT_TYPES), "geo_h3": cell,
                "os_family": rng.choice(OS + ["*"]), "device_class": rng.choice(DEVICE_CLASSES + ["*"]),
                "app_major": rng.choice(["3", "4", "*"]),
                "geo_h3_level": level, "os_family_level": 0, "device_class_level": 0, "app_major_level": 0,
                "events": users * rng.randrange(1, 6), "users": users, "k": k, "policy_version": "test",
                "batch_id": batch_id, "event_date": day,
            })
    schema = pa.schema([("window_start", TS), ("window_end", TS), ("event_type", pa.string()),
                        ("geo_h3", pa.string()), ("os_family", pa.string()), ("device_class", pa.string()),
                        ("app_major", pa.string()), ("geo_h3_level", pa.int8()), ("os_family_level", pa.int8()),
                        ("device_class_level", pa.int8()), ("app_major_level", pa.int8()), ("events", pa.int64()),
                        ("users", pa.int64()), ("k", pa.int64()), ("policy_version", pa.string()),
                        ("batch_id", pa.string()), ("event_date", pa.date32())])
    return pa.Table.from_pylist(rows, schema=schema)


def window_stats_table(day: dt.date, rng: random.Random, batch_id: str) -> pa.Table:
    rows = []
    for hour in range(24):
        window_start = dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        # A daily rhythm, so the plots look like real traffic.
        events = int(200 + 800 * max(0.0, 1 - abs(hour - 14) / 10) + rng.randrange(50))
        suppressed = int(events * rng.uniform(0.0, 0.12))
        late = rng.randrange(0, 10)
        rows.append({"window_start": window_start, "window_end": window_start + dt.timedelta(hours=1),
                     "kind": "window", "events": events, "users": events // 4,
                     "published_cells": rng.randrange(10, 60), "rolled_up_cells": rng.randrange(0, 20),
                     "suppressed_events": suppressed, "suppressed_users": suppressed // 2, "late_events": late,
                     "policy_version": "test", "batch_id": batch_id, "event_date": day})
    schema = pa.schema([("window_start", TS), ("window_end", TS), ("kind", pa.string())]
                       + [(c, pa.int64()) for c in ("events", "users", "published_cells", "rolled_up_cells",
                                                    "suppressed_events", "suppressed_users", "late_events")]
                       + [("policy_version", pa.string()), ("batch_id", pa.string()), ("event_date", pa.date32())])
    return pa.Table.from_pylist(rows, schema=schema)


def build_lake(data_dir, days: list[dt.date], batches_per_day: int = 4, rows_per_batch: int = 50,
               users: list[str] | None = None, seed: int = 1, ring: KeyRing | None = None) -> dict:
    """Write every zone through write_batch, several batch files per date partition, like the sink does."""
    ring = ring or test_ring()
    rng = random.Random(seed)
    users = users or [f"user-{i}" for i in range(30)]
    written = {PSEUDONYMIZED: 0, AGGREGATES: 0, WINDOW_STATS: 0}
    offset = 0
    for day in days:
        for _ in range(batches_per_day):
            offset += 1
            batch_id = f"r001-{offset:019d}-p0"
            events = pseudonymized_table(ring, day, rows_per_batch, rng, users, batch_id)
            write_batch(data_dir, PSEUDONYMIZED, events, batch_id)
            written[PSEUDONYMIZED] += events.num_rows
        agg_id, stats_id = f"r002-{offset:019d}-p0", f"r003-{offset:019d}-p0"
        aggregates = aggregates_table(day, rng, agg_id)
        write_batch(data_dir, AGGREGATES, aggregates, agg_id)
        write_batch(data_dir, WINDOW_STATS, window_stats_table(day, rng, stats_id), stats_id)
        written[AGGREGATES] += aggregates.num_rows
        written[WINDOW_STATS] += 24
    return written
