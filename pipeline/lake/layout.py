"""Where each zone of the lake lives under the data dir, and how file names are derived from batch ids."""

from __future__ import annotations

import os
import re
from pathlib import Path

PSEUDONYMIZED = "pseudonymized"
AGGREGATES = "aggregates"
WINDOW_STATS = "window_stats"
PEOPLE = "people"  # daily and monthly distinct people (pipeline/lake/people_release.py), shareable
ZONES = (PSEUDONYMIZED, AGGREGATES, WINDOW_STATS, PEOPLE)
DATE_COLUMN = "event_date"
# Batch ids come from source offsets (e.g. "r003-0000000000000012345-p1"); only these chars reach file names.
_SAFE_BATCH_ID = re.compile(r"^[A-Za-z0-9_.-]{1,160}$")


def default_data_dir() -> Path:
    return Path(os.environ.get("ANONPIPE_DATA_DIR", "./data"))


def zone_dir(data_dir: str | os.PathLike, zone: str) -> Path:
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
    return Path(data_dir) / "lake" / zone


def dlq_dir(data_dir: str | os.PathLike) -> Path:
    """Restricted zone: raw rejected events (may hold personal data), mode 0700, short retention."""
    return Path(data_dir) / "dlq"


def batch_file_name(batch_id: str, suffix: str = ".parquet") -> str:
    if not _SAFE_BATCH_ID.match(batch_id):
        raise ValueError(f"batch id {batch_id!r} has characters not allowed in a file name")
    return f"{batch_id}{suffix}"
