"""Retention: delete whole date partitions of each zone once they are older than the policy allows."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.common.columns import DATE_COLUMN
from pipeline.lake.layout import AGGREGATES, PEOPLE, PSEUDONYMIZED, WINDOW_STATS, dlq_dir, zone_dir

DLQ = "dlq"
DLQ_DATE_COLUMN = "date"
# Policy key → zone; defaults match pipeline/policy/model.py RetentionSection.
RETENTION_KEYS = {
    "pseudonymized_days": PSEUDONYMIZED,
    "aggregates_days": AGGREGATES,
    "window_stats_days": WINDOW_STATS,
    "people_days": PEOPLE,
    "dlq_days": DLQ,
}
DEFAULT_RETENTION_DAYS = {PSEUDONYMIZED: 30, AGGREGATES: 730, WINDOW_STATS: 730, PEOPLE: 730, DLQ: 7}
# Keys of the policy's retention section that other components enforce (Kafka topic retention).
NOT_LAKE_KEYS = {"raw_topic_hours"}


class RetentionError(ValueError):
    """The retention settings are unusable."""


@dataclass(frozen=True)
class ExpiredPartition:
    zone: str
    path: Path
    date: dt.date
    files: int
    bytes: int


def load_retention(policy_path: str | os.PathLike | None) -> dict[str, int]:
    """Days to keep per zone: the policy's `retention` mapping over the defaults."""
    days = dict(DEFAULT_RETENTION_DAYS)
    if policy_path is None:
        return days
    path = Path(policy_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RetentionError(f"policy file {path} does not exist") from None
    except (OSError, yaml.YAMLError) as exc:
        raise RetentionError(f"policy file {path} is not readable YAML ({type(exc).__name__})") from None
    section = (data or {}).get("retention") if isinstance(data, dict) else None
    if section is None:
        return days
    if not isinstance(section, dict):
        raise RetentionError(f"policy file {path}: 'retention' must be a mapping")
    for key, value in section.items():
        if key in NOT_LAKE_KEYS:
            continue
        if key not in RETENTION_KEYS:
            # A typo must not silently fall back to a default retention.
            raise RetentionError(f"policy file {path}: unknown retention key {key!r}; "
                                 f"known: {', '.join(sorted(RETENTION_KEYS) + sorted(NOT_LAKE_KEYS))}")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise RetentionError(f"policy file {path}: retention.{key} must be a positive whole number of days")
        days[RETENTION_KEYS[key]] = value
    return days


def zone_root_and_column(data_dir: str | os.PathLike, zone: str) -> tuple[Path, str]:
    if zone == DLQ:
        return dlq_dir(data_dir), DLQ_DATE_COLUMN
    return zone_dir(data_dir, zone), DATE_COLUMN


def partition_date(name: str, column: str) -> dt.date | None:
    prefix = f"{column}="
    if not name.startswith(prefix):
        return None
    try:
        return dt.date.fromisoformat(name[len(prefix):])
    except ValueError:
        return None


def expired_partitions(data_dir: str | os.PathLike, days: dict[str, int], today: dt.date) -> list[ExpiredPartition]:
    """Partitions dated before `today - days[zone]`: a zone with 30 days keeps today and the 30 days before."""
    expired = []
    for zone, keep_days in days.items():
        root, column = zone_root_and_column(data_dir, zone)
        if not root.is_dir():
            continue
        cutoff = today - dt.timedelta(days=keep_days)
        for part in sorted(root.iterdir()):
            # Only folders that parse as a date partition are ever deleted; anything else is left alone.
            date = partition_date(part.name, column) if part.is_dir() else None
            if date is None or date >= cutoff:
                continue
            files = [f for f in part.rglob("*") if f.is_file()]
            expired.append(ExpiredPartition(zone, part, date, len(files), sum(f.stat().st_size for f in files)))
    return expired


def apply_retention(data_dir: str | os.PathLike, days: dict[str, int], today: dt.date,
                    dry_run: bool = False) -> list[ExpiredPartition]:
    expired = expired_partitions(data_dir, days, today)
    if not dry_run:
        for part in expired:
            shutil.rmtree(part.path)
    return expired
