"""Independent checks of pipeline outputs (pandas + h3 directly; no pipeline code on the checking side)."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import orjson
import pandas as pd
import pyarrow.dataset as ds

QIS = ["geo_h3", "app_major", "device_class", "os_family"]


def read_zone(data_dir: Path, zone: str) -> pd.DataFrame:
    return ds.dataset(data_dir / "lake" / zone, format="parquet", partitioning="hive").to_table().to_pandas()


def read_dlq(data_dir: Path) -> list[dict]:
    return [json.loads(line) for p in (data_dir / "dlq").rglob("*.ndjson") for line in p.read_text().splitlines()
            if line.strip()]


def same_json(raw: str | bytes) -> str:
    """One spelling of a JSON value (producers serialize differently); the text itself when it is not JSON."""
    try:
        return orjson.dumps(orjson.loads(raw)).decode()
    except orjson.JSONDecodeError:
        return raw.decode() if isinstance(raw, bytes) else raw


def raw_identifiers(lines: list[bytes]) -> set[str]:
    """Every raw personal value in the input that must never reach an output zone or a log."""
    values: set[str] = set()
    for line in lines:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        for key in ("user_id", "device_id", "cookie_id", "session_id", "ip", "user_agent"):
            if isinstance(event.get(key), str) and len(event[key]) >= 6:
                values.add(event[key])
        geo = event.get("geo")
        if isinstance(geo, dict) and isinstance(geo.get("lat"), float):
            values.add(repr(geo["lat"]))
            values.add(repr(geo["lon"]))
    return values


def scan_for(data_dir: Path, needles: set[str], skip: tuple[str, ...] = ("dlq",)) -> list[tuple[str, str]]:
    """(file, value) for every needle found in any Parquet cell or text file under data_dir (outside `skip`)."""
    found = []
    for path in data_dir.rglob("*"):
        if not path.is_file() or any(part in skip for part in path.relative_to(data_dir).parts):
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            blob = "\n".join(frame.astype(str).to_csv(index=False).splitlines())
        else:
            blob = path.read_bytes().decode("utf-8", errors="replace")
        for needle in needles:
            if needle in blob:
                found.append((str(path), needle))
    return found


def epoch_ms(column: pd.Series) -> pd.Series:
    """Timestamps (any unit, tz-aware) → integer epoch milliseconds."""
    return (column - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)


def parent(cell: str, res: int) -> str:
    return cell if h3.get_resolution(cell) <= res else h3.cell_to_parent(cell, res)


def generalize(qi: str, value: str, level: int, h3_resolutions=(7, 6)) -> str:
    if level == 0 or value == "*":
        return value
    if qi == "geo_h3" and level <= len(h3_resolutions) and value != "unknown":
        return parent(value, h3_resolutions[level - 1])
    return "*"


def assign_events_to_rows(events: pd.DataFrame, aggregates: pd.DataFrame, size_ms: int = 3_600_000) -> pd.Series:
    """For each event, the index of the finest published aggregate row that covers it (or -1 if none).

    A row covers an event when window and event type match and every QI of the event, generalized to the row's
    level, equals the row's value. The finest row is the one with the smallest level sum.
    """
    # Policy dimensions (service, screen, …) are cell columns too: every `<column>_level` of the rows counts.
    columns = QIS + [c[:-len("_level")] for c in aggregates.columns if c.endswith("_level") and c[:-6] not in QIS]
    events = events.copy()
    events["window"] = (epoch_ms(events["event_hour"]) // size_ms) * size_ms
    for q in columns:
        events[q] = events[q].fillna("unknown").astype(str)
    aggregates = aggregates.copy()
    aggregates["window"] = epoch_ms(aggregates["window_start"])
    aggregates["level_sum"] = sum(aggregates[f"{q}_level"].astype(int) for q in columns)
    assignment = pd.Series(-1, index=events.index)
    best_level = pd.Series(10**9, index=events.index)
    for row_index, row in aggregates.iterrows():
        mask = (events["window"] == row["window"]) & (events["event_type"] == row["event_type"])
        for q in columns:
            level = int(row[f"{q}_level"])
            mask &= events[q].map(lambda v, q=q, level=level: generalize(q, v, level)) == row[q] if level else \
                events[q] == row[q]
        better = mask & (best_level > row["level_sum"])
        assignment[better] = row_index
        best_level[better] = row["level_sum"]
    return assignment


DOCS = Path(__file__).resolve().parents[2] / "docs"


def producer_snippet(client: str):
    """The `publish(bootstrap, events)` function of docs/producers.md's snippet for `client` (its Python block
    under the heading naming the client), so the test runs exactly what the documentation shows."""
    text = (DOCS / "producers.md").read_text(encoding="utf-8")
    section = text.split(f"## {client}", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, f"docs/producers.md ({client})", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["publish"]


def publish_one_event_per_message(bootstrap: str, lines: list[bytes], client: str = "confluent-kafka") -> None:
    """Valid JSON lines through the documented producer (one event per message); any other line as it is."""
    events, others = [], []
    for line in lines:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            event = None
        if isinstance(event, dict) and "device_id" in event:
            events.append(event)
        else:
            others.append(line)
    producer_snippet(client)(bootstrap, events)
    if others:
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False})
        for line in others:
            producer.produce("telemetry.raw", value=line)
        assert producer.flush(30) == 0
