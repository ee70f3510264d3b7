"""A synthetic pseudonymized zone with real identity behaviour, written with the project's lake writer.

People log in mid-session (device-only events, then user + device), some use two devices, web clients
send a cookie, location accuracy varies (res-8 cells, res-6 where it was poor, none at all), and
`properties.service` says which city service an event concerns. Pseudonyms come from the production
HMAC function, files from `pipeline.lake.writer.write_batch`, so the extract reads what the sink writes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import h3
import numpy as np
import pyarrow as pa

from pipeline.keys.pseudonym import pseudonym
from pipeline.lake.layout import PSEUDONYMIZED
from pipeline.lake.writer import write_batch

UTC = dt.timezone.utc
ASTANA = (51.1605, 71.4704)
SERVICES = ["housing", "transport", "utilities", "roads", "ecology", "safety", "other"]
EVENT_TYPES = ["app_open", "screen_view", "request_created", "request_status", "search"]
SECRET = bytes([5]) * 32
SCHEMA = pa.schema([
    ("event_id", pa.string()), ("event_type", pa.string()), ("event_hour", pa.timestamp("ms", tz="UTC")),
    ("app_platform", pa.string()), ("app_major", pa.string()), ("user_pseudonym", pa.string()),
    ("device_pseudonym", pa.string()), ("cookie_pseudonym", pa.string()), ("session_pseudonym", pa.string()),
    ("geo_h3", pa.string()), ("geo_h3_res", pa.int8()), ("os_family", pa.string()), ("properties", pa.string()),
    ("service", pa.string()),  # the allowlist operator also writes its chosen keys as columns
    ("key_id", pa.string()), ("batch_id", pa.string()), ("event_date", pa.date32()),
])


def _person(rng: np.random.Generator, index: int) -> dict:
    platform = rng.choice(["android", "ios", "web"], p=[0.55, 0.3, 0.15])
    lat, lng = ASTANA[0] + rng.normal(0, 0.03), ASTANA[1] + rng.normal(0, 0.05)
    devices = [f"dev-{index}-0"] + ([f"dev-{index}-1"] if rng.random() < 0.2 else [])
    return {
        "index": index, "platform": str(platform), "home": (lat, lng), "devices": devices,
        "user": f"user-{index}" if rng.random() < 0.8 or len(devices) > 1 else None,
        "services": list(rng.choice(SERVICES, size=2, replace=False)),
        "os": {"android": "Android", "ios": "iOS", "web": "Windows"}[str(platform)],
    }


def _rows_for_day(rng, people, day: dt.date, batch: str) -> list[dict]:
    rows = []
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    for person in people:
        for session in range(rng.poisson(1.2)):
            device = person["devices"][rng.integers(len(person["devices"]))]
            hour = start + dt.timedelta(hours=int(rng.choice(24, p=_HOURS)))
            # A session that logs in part-way: the first events carry the device id only.
            login_at = rng.integers(0, 3) if person["user"] else 99
            for position in range(int(rng.integers(1, 6))):
                kind = rng.random()
                lat, lng = person["home"][0] + rng.normal(0, 0.01), person["home"][1] + rng.normal(0, 0.015)
                cell, res = (h3.latlng_to_cell(lat, lng, 8), 8) if kind < 0.85 else (
                    (h3.latlng_to_cell(lat, lng, 6), 6) if kind < 0.95 else (None, None))
                web = person["platform"] == "web"
                rows.append({
                    "event_id": f"{batch}-{len(rows)}",
                    "event_type": str(rng.choice(EVENT_TYPES)),
                    "event_hour": hour,
                    "app_platform": person["platform"],
                    "app_major": "4",
                    "user_pseudonym": pseudonym(SECRET, "user_id", person["user"], 16) if position >= login_at else None,
                    "device_pseudonym": pseudonym(SECRET, "device_id", device, 16),
                    "cookie_pseudonym": pseudonym(SECRET, "cookie_id", f"c-{device}", 16) if web else None,
                    "session_pseudonym": pseudonym(SECRET, "session_id", f"{device}-{day}-{session}", 16),
                    "geo_h3": cell, "geo_h3_res": res, "os_family": person["os"],
                    "properties": json.dumps({"service": (service := str(rng.choice(person["services"]))),
                                              "screen": "home"}),
                    "service": service,
                    "key_id": "synthetic", "batch_id": batch, "event_date": day,
                })
    return rows


# Telemetry peaks in the day and evening (local UTC+5: 03-17 UTC is 08-22 local).
_HOURS = np.array([1, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1], dtype=float)
_HOURS /= _HOURS.sum()


def build_lake_week(data_dir: Path, people: int = 300, days: int = 7, seed: int = 1,
                    first_day: dt.date = dt.date(2026, 11, 30)) -> dict:
    """Write ``days`` daily files of the pseudonymized zone; return counts for the caller."""
    rng = np.random.default_rng(seed)
    persons = [_person(rng, i) for i in range(people)]
    total = 0
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        batch = f"synthetic-{day:%Y%m%d}"
        rows = _rows_for_day(rng, persons, day, batch)
        write_batch(data_dir, PSEUDONYMIZED, pa.Table.from_pylist(rows, schema=SCHEMA), batch)
        total += len(rows)
    return {"people": people, "days": days, "rows": total, "first_day": first_day}
