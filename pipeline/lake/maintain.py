"""`anonpipe lake maintain`: retention, compaction and zone permissions on a schedule, with age metrics.

Retention that depends on someone remembering to run a command does not happen; this loop is what the compose
file and the Kubernetes manifests run next to the workers. Each cycle:
1. deletes date partitions older than each zone's retention (DLQ: `dlq_days`), and expired blocklist entries;
2. compacts the closed (before today) partitions of every lake zone;
3. gives every zone its readers' group and modes (pipeline.lake.access);
4. publishes, per zone, the age of the oldest data still held and the retention it should not exceed, so an
   alert fires when retention stops working (deploy/prometheus/alerts.yml: AnonpipeRetentionOverdue).
A failing step is logged and counted; the other steps and the next cycle still run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import Counter, Gauge

from pipeline.lake.access import apply_zone_permissions
from pipeline.lake.blocklist import expire_blocklist
from pipeline.lake.compaction import compact_zone
from pipeline.lake.layout import ZONES
from pipeline.lake.retention import DLQ, apply_retention, load_retention, partition_date, zone_root_and_column
from pipeline.observability.metrics import REGISTRY

log = logging.getLogger(__name__)
_DAY = 86_400.0

OLDEST_AGE = Gauge("lake_oldest_data_age_seconds",
                   "Age of the oldest date partition still held, per zone (from the start of its date, UTC).",
                   ["zone"], namespace="anonpipe", registry=REGISTRY)
RETENTION = Gauge("lake_retention_seconds", "Retention the policy sets per zone.", ["zone"],
                  namespace="anonpipe", registry=REGISTRY)
LAST_SUCCESS = Gauge("lake_maintenance_last_success_timestamp_seconds",
                     "Unix time of the last maintenance cycle in which every step succeeded.",
                     namespace="anonpipe", registry=REGISTRY)
FAILURES = Counter("lake_maintenance_failures", "Maintenance steps that raised, per step.", ["step"],
                   namespace="anonpipe", registry=REGISTRY)
REMOVED = Counter("lake_retention_partitions_removed", "Date partitions deleted by retention, per zone.", ["zone"],
                  namespace="anonpipe", registry=REGISTRY)


@dataclass
class CycleReport:
    removed: dict[str, int] = field(default_factory=dict)       # zone → partitions deleted
    compacted: int = 0
    permissions_fixed: int = 0
    blocklist_expired: int = 0
    oldest_age_seconds: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def oldest_partition_dates(data_dir: str | os.PathLike) -> dict[str, dt.date]:
    """Per zone (lake zones and the DLQ), the earliest partition date held; zones without data are absent."""
    oldest = {}
    for zone in (*ZONES, DLQ):
        root, column = zone_root_and_column(data_dir, zone)
        if not root.is_dir():
            continue
        dates = [d for p in root.iterdir() if p.is_dir() and (d := partition_date(p.name, column)) is not None
                 and any(f.is_file() for f in p.iterdir())]
        if dates:
            oldest[zone] = min(dates)
    return oldest


def _age_seconds(date: dt.date, now: dt.datetime) -> float:
    start = dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)
    return max(0.0, (now - start).total_seconds())


def run_cycle(data_dir: str | os.PathLike, days: dict[str, int], now: dt.datetime | None = None,
              compact: bool = True, permissions: bool = True) -> CycleReport:
    """One maintenance pass; never raises for a failing step (see CycleReport.failed and the logs)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    today = now.date()
    report = CycleReport()

    def step(name, action):
        try:
            action()
        except Exception:  # noqa: BLE001 - one broken step must not stop retention of the other zones
            FAILURES.labels(step=name).inc()
            report.failed.append(name)
            log.exception("lake maintenance step %s failed", name)

    def retention():
        for part in apply_retention(data_dir, days, today):
            report.removed[part.zone] = report.removed.get(part.zone, 0) + 1
            REMOVED.labels(zone=part.zone).inc()
            log.info("retention: removed %s/%s (%d files; keep %d days)", part.zone, part.path.name, part.files,
                     days[part.zone])

    def blocklist():
        report.blocklist_expired = expire_blocklist(data_dir, now)

    def compaction():
        closed = {(today - dt.timedelta(days=i)).isoformat() for i in range(1, max(days.values()) + 2)}
        for zone in ZONES:
            results = compact_zone(data_dir, zone, dates=closed)
            report.compacted += sum(1 for r in results if not r.skipped)

    def access():
        report.permissions_fixed = sum(z.fixed for z in apply_zone_permissions(data_dir))

    step("retention", retention)
    step("blocklist", blocklist)
    if compact:
        step("compaction", compaction)
    if permissions:
        step("permissions", access)
    oldest = oldest_partition_dates(data_dir)
    for zone, keep in days.items():
        RETENTION.labels(zone=zone).set(keep * _DAY)
        age = _age_seconds(oldest[zone], now) if zone in oldest else 0.0
        report.oldest_age_seconds[zone] = age
        OLDEST_AGE.labels(zone=zone).set(age)
    if not report.failed:
        LAST_SUCCESS.set(now.timestamp())
    return report


def run_forever(data_dir: str | os.PathLike, policy_path: str | os.PathLike | None, interval_seconds: float,
                stop: threading.Event | None = None, compact: bool = True, permissions: bool = True) -> None:
    """Run a cycle now and then every `interval_seconds` until `stop` is set (SIGTERM sets it in the CLI).

    The policy is re-read every cycle, so a changed retention applies without a restart.
    """
    stop = stop or threading.Event()
    Path(data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    while not stop.is_set():
        started = time.monotonic()
        try:
            days = load_retention(policy_path)
        except ValueError:
            FAILURES.labels(step="policy").inc()
            log.exception("lake maintenance: the policy's retention section is unusable; nothing deleted")
        else:
            report = run_cycle(data_dir, days, compact=compact, permissions=permissions)
            log.info("lake maintenance: removed %s, compacted %d partitions, %d permissions fixed, "
                     "%d blocklist entries expired%s", report.removed or "nothing", report.compacted,
                     report.permissions_fixed, report.blocklist_expired,
                     f"; FAILED: {', '.join(report.failed)}" if report.failed else "")
        stop.wait(max(0.0, interval_seconds - (time.monotonic() - started)))


