"""Read the extract's input straight from a lake zone: chosen days, chosen columns, JSON properties unpacked."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from pipeline.common.columns import DATE_COLUMN
from pipeline.extract.io import ExtractIOError
from pipeline.lake.layout import PSEUDONYMIZED, zone_dir

# Zone names an extract may read: the pseudonymized zone holds event-level rows of the restricted role.
ZONES = {"restricted": PSEUDONYMIZED, "pseudonymized": PSEUDONYMIZED}


def available_days(data_dir: str | os.PathLike, zone: str) -> list[dt.date]:
    """The date partitions present in the zone, oldest first."""
    root = zone_dir(data_dir, ZONES[zone])
    days = []
    for child in root.glob(f"{DATE_COLUMN}=*") if root.is_dir() else ():
        try:
            days.append(dt.date.fromisoformat(child.name.partition("=")[2]))
        except ValueError:
            continue  # not a partition this layout writes
    return sorted(days)


def select_days(spec: str, present: list[dt.date]) -> list[dt.date]:
    """`2025-01-06..2025-01-12` (inclusive), one date, `N` = the latest N days present, or `all`."""
    spec = spec.strip()
    if spec == "all":
        return list(present)
    try:
        if spec.isdigit():
            count = int(spec)
            if count < 1:
                raise ValueError("give at least one day")
            return present[-count:]
        start, sep, end = spec.partition("..")
        first = dt.date.fromisoformat(start.strip())
        last = dt.date.fromisoformat(end.strip()) if sep else first
    except ValueError as exc:
        raise ExtractIOError(f"--days {spec!r}: expected START..END, a date or a number of days ({exc})") from None
    if last < first:
        raise ExtractIOError(f"--days {spec!r}: the end is before the start")
    return [d for d in present if first <= d <= last]


def read_lake(data_dir: str | os.PathLike, zone: str, days: str, columns: list[str],
              optional: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict]:
    """The named columns of the zone's rows on the chosen days (partition dates, UTC, as the lake writes them).

    A column `parent.key` is the key `key` of the JSON object in column `parent` (e.g.
    `properties.service`); absent keys are null. ``optional`` columns are read when the zone has
    them (e.g. the default subject pseudonyms). Returns the frame and a description for the report.
    """
    if zone not in ZONES:
        raise ExtractIOError(f"--zone {zone!r}: an extract reads {', '.join(ZONES)}")
    present = available_days(data_dir, zone)
    root = zone_dir(data_dir, ZONES[zone])
    if not present:
        raise ExtractIOError(f"no data in the {zone} zone: no {DATE_COLUMN}=… partitions under {root}")
    chosen = select_days(days, present)
    if not chosen:
        raise ExtractIOError(f"--days {days!r}: none of these days is in the lake "
                             f"(it has {present[0]} … {present[-1]})")
    files = [str(p) for d in chosen for p in sorted((root / f"{DATE_COLUMN}={d.isoformat()}").glob("*.parquet"))
             if not p.name.startswith((".", "_"))]  # temp files of writers in flight start with '.'
    if not files:
        raise ExtractIOError(f"--days {days!r}: the chosen partitions hold no Parquet files")
    dataset = ds.dataset(files, format="parquet")
    available = set(dataset.schema.names)
    columns = list(dict.fromkeys(list(columns) + [c for c in optional if c in available]))
    wanted: dict[str, None] = {}
    for column in columns:
        parent = column.partition(".")[0] if column not in available else column
        if parent not in available:
            raise ExtractIOError(f"--columns {column}: the {zone} zone has no such column; "
                                 f"it has: {', '.join(sorted(available))}")
        wanted[parent] = None
    table = dataset.to_table(columns=list(wanted))
    frame = _to_frame(table)
    for column in columns:
        if column not in available:
            parent, _, key = column.partition(".")
            frame[column] = _json_key(frame[parent], key)
    frame = frame[list(dict.fromkeys(columns))]
    return frame, {"zone": zone, "data_dir": str(Path(data_dir)), "days": [d.isoformat() for d in chosen],
                   "files": len(files), "rows": len(frame)}


def _to_frame(table: pa.Table) -> pd.DataFrame:
    # Strings stay Python objects (nulls as None) so hierarchies see the values the lake holds.
    return table.to_pandas(types_mapper=None, timestamp_as_object=False)


def _json_key(column: pd.Series, key: str) -> pd.Series:
    """One key of JSON-object text, decoded once per distinct text (properties repeat heavily)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)

    def value(text):
        try:
            found = json.loads(text).get(key) if isinstance(text, str) else None
        except (ValueError, AttributeError):
            return None
        return None if found is None else str(found)

    decoded = [value(t) for t in uniques] + [None]
    return pd.Series([decoded[c] for c in codes], index=column.index, dtype=object)
