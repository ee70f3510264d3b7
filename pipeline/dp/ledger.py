"""The privacy-budget ledger in the lake: one row per mechanism of every DP release, and refusals with a reason.

Layout: <data dir>/lake/dp_ledger/period=<period>/<release id>-<attempt>.parquet. A release is charged BEFORE its
rows are sent, and every attempt is charged under its own file: a crash between charge and delivery makes the
ledger over-count (the safe direction), never under-count a release that reached the topic with fresh noise.
A refused release writes one row with status 'refused' and the reason and counts in a metric; the first refusal
of a (period, stage partition) logs one warning line, later ones only at debug level (no log flood).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from prometheus_client import Counter, Gauge

from pipeline.common.columns import POLICY_VERSION_COLUMN
from pipeline.dp.budget import Decision, decide, period_of
from pipeline.dp.mechanisms import Spend
from pipeline.lake.writer import write_parquet_atomic
from pipeline.observability.metrics import REGISTRY

log = logging.getLogger(__name__)

LEDGER_DIR = "dp_ledger"
RELEASED, REFUSED = "released", "refused"

DP_REFUSED = Counter("dp_releases_refused", "DP window releases not published because the period's budget is spent.",
                     namespace="anonpipe", registry=REGISTRY)
DP_EPSILON_SPENT = Gauge("dp_epsilon_spent", "ε spent so far in the current budget period by this worker's "
                         "stage partitions.", namespace="anonpipe", registry=REGISTRY)

LEDGER_SCHEMA = pa.schema([
    pa.field("release_id", pa.string()), pa.field("period", pa.string()),
    pa.field("window_start", pa.timestamp("ms", tz="UTC")), pa.field("partition", pa.int32()),
    pa.field("mode", pa.string()), pa.field("status", pa.string()), pa.field("statistic", pa.string()),
    pa.field("mechanism", pa.string()), pa.field("scale", pa.float64()), pa.field("epsilon", pa.float64()),
    pa.field("delta", pa.float64()), pa.field("threshold", pa.int64()), pa.field("reason", pa.string()),
    pa.field(POLICY_VERSION_COLUMN, pa.string()), pa.field("recorded_at", pa.timestamp("ms", tz="UTC"))])


def ledger_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "lake" / LEDGER_DIR


class BudgetLedger:
    """Charges and refusals of one worker's releases; the spent ε per (period, partition) is read from the lake."""

    def __init__(self, data_dir: str | os.PathLike, cap: float, period: str, policy_version: str):
        self.root = ledger_dir(data_dir)
        self.cap = cap
        self.period = period
        self.policy_version = policy_version
        self._spent: dict[tuple[str, int], float] = {}
        self._warned: set[tuple[str, int]] = set()

    def spent(self, period: str, partition: int) -> float:
        key = (period, partition)
        if key not in self._spent:
            self._spent[key] = spent_in(self.root.parent.parent, period, partition)
        return self._spent[key]

    def decide(self, window_ms: int, partition: int, cost: float, partition_cap: float) -> Decision:
        return decide(self.spent(period_of(window_ms, self.period), partition), cost, partition_cap)

    def charge(self, release_id: str, window_ms: int, partition: int, mode: str, spends: list[Spend]) -> None:
        period = period_of(window_ms, self.period)
        self._write(release_id, period, window_ms, partition, mode, RELEASED, spends, "")
        self._spent[(period, partition)] = self.spent(period, partition) + sum(s.epsilon for s in spends)
        DP_EPSILON_SPENT.set(sum(v for (p, _), v in self._spent.items() if p == period))

    def refuse(self, release_id: str, window_ms: int, partition: int, mode: str, decision: Decision) -> None:
        period = period_of(window_ms, self.period)
        level = logging.DEBUG if (period, partition) in self._warned else logging.WARNING
        self._warned.add((period, partition))
        log.log(level, "DP release %s not published: %s (period %s; later refusals of this period and partition "
                "are in the ledger)", release_id, decision.reason, period)
        DP_REFUSED.inc()
        self._write(release_id, period, window_ms, partition, mode, REFUSED, [], decision.reason)

    def _write(self, release_id, period, window_ms, partition, mode, status, spends, reason) -> None:
        lines = spends or [Spend("", "", 0.0, 0.0)]
        now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
        table = pa.table({
            "release_id": [release_id] * len(lines), "period": [period] * len(lines),
            "window_start": [window_ms] * len(lines), "partition": [partition] * len(lines),
            "mode": [mode] * len(lines), "status": [status] * len(lines),
            "statistic": [s.statistic for s in lines], "mechanism": [s.mechanism for s in lines],
            "scale": [s.scale for s in lines], "epsilon": [s.epsilon for s in lines],
            "delta": [s.delta for s in lines], "threshold": [s.threshold for s in lines],
            "reason": [reason] * len(lines), POLICY_VERSION_COLUMN: [self.policy_version] * len(lines),
            "recorded_at": [now] * len(lines)}, schema=LEDGER_SCHEMA)
        name = f"{release_id}-{uuid.uuid4().hex[:8]}.parquet"  # every attempt is its own charge
        write_parquet_atomic(self.root / f"period={period}" / name, table)


def read_ledger(data_dir: str | os.PathLike, period: str | None = None) -> pa.Table:
    root = ledger_dir(data_dir)
    folder = root / f"period={period}" if period else root
    files = sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        return LEDGER_SCHEMA.empty_table()
    return ds.dataset(files, schema=LEDGER_SCHEMA, format="parquet").to_table()


def spent_in(data_dir: str | os.PathLike, period: str, partition: int | None = None) -> float:
    """ε charged in a period (by one stage partition, or by all)."""
    table = read_ledger(data_dir, period)
    if partition is not None:
        table = table.filter(pc.equal(table.column("partition"), partition))
    return float(pc.sum(table.column("epsilon")).as_py() or 0.0)


def budget_summary(data_dir: str | os.PathLike) -> list[dict]:
    """Per period: ε spent, releases, refusals and their reasons - what the report shows next to DP releases."""
    table = read_ledger(data_dir)
    out: dict[str, dict] = {}
    for row in table.select(["period", "release_id", "status", "epsilon", "delta", "reason"]).to_pylist():
        period = out.setdefault(row["period"], {"period": row["period"], "epsilon": 0.0, "delta": 0.0,
                                                "released": set(), "refused": set(), "reasons": set()})
        period["epsilon"] += row["epsilon"] or 0.0
        period["delta"] += row["delta"] or 0.0
        period[row["status"]].add(row["release_id"])
        if row["reason"]:
            period["reasons"].add(row["reason"].split(":")[0])
    return [{**p, "released": len(p["released"]), "refused": len(p["refused"]), "reasons": sorted(p["reasons"])}
            for _, p in sorted(out.items())]
