"""The demo: embedded broker, one worker process, synthetic events, wait until every event is accounted for."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import yaml

from pipeline.broker import EmbeddedBroker
from pipeline.common.wire import HEADER_KIND, KIND_CONTROL
from pipeline.generate import TelemetryGenerator
from pipeline.lake.counts import (AGGREGATES, PSEUDONYMIZED, dlq_rows, parquet_files, read_zone, window_stats_totals,
                                  zone_rows)
from pipeline.lake.layout import WINDOW_STATS
from pipeline.processes import stop_process  # noqa: F401 - re-exported for tests and benchmarks
from pipeline.policy.source import DEFAULT_POLICY_PATH
from pipeline.settings import TOPIC_PSEUDONYMIZED


class DemoError(RuntimeError):
    pass


@dataclass
class Summary:
    events_in: int
    dlq: int
    pseudonymized_rows: int
    aggregate_rows: int
    suppressed_events: int
    late_events: int
    windows: int
    files_written: int
    wall_seconds: float
    data_dir: Path
    ephemeral_key: bool = True
    hours: int = 0  # distinct hourly windows released (a window row exists per hour and stage partition)

    def render(self) -> str:
        lines = [
            "anonpipe demo summary",
            f"  events in           {self.events_in:>10,}",
            f"  dead-lettered (DLQ) {self.dlq:>10,}",
            f"  pseudonymized rows  {self.pseudonymized_rows:>10,}",
            f"  aggregate rows      {self.aggregate_rows:>10,}  (hours released: {self.hours})",
            f"  suppressed events   {self.suppressed_events:>10,}",
            f"  late events         {self.late_events:>10,}",
            f"  files written       {self.files_written:>10,}",
            f"  wall time           {self.wall_seconds:>10.1f} s",
            f"  lake                {self.data_dir / 'lake'}",
        ]
        if self.ephemeral_key:
            lines.append("  note: demo mode used an ephemeral key; pseudonyms are not reproducible across runs")
        return "\n".join(lines + ["", *self.next_steps()])

    def next_steps(self) -> list[str]:
        """The commands a newcomer runs after the demo, with this run's data dir filled in."""
        data_dir = shlex.quote(str(self.data_dir))
        return [
            "next steps",
            f"  anonpipe query --data-dir {data_dir} \"SELECT * FROM aggregates ORDER BY events DESC LIMIT 10\"",
            f"  anonpipe report --data-dir {data_dir} --out {shlex.quote(str(self.data_dir / 'report.html'))}",
            f"  ls {shlex.quote(str(self.data_dir / 'lake'))}   # Parquet: one folder per zone and day (docs/lake.md)",
        ]


def start_worker(bootstrap: str, data_dir: Path, *, policy: Path | None = None, keyring: Path | None = None,
                 partitions: int = 4, worker_id: str = "w1", log_name: str | None = None,
                 extra_env: dict | None = None, extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    """A worker as its own process (like production), logging to a file under the data dir."""
    cmd = [sys.executable, "-m", "pipeline.cli", "worker", "--bootstrap", bootstrap, "--data-dir", str(data_dir),
           "--embedded", "--partitions", str(partitions), "--worker-id", worker_id]
    if policy:
        cmd += ["--policy", str(policy)]
    if keyring:
        cmd += ["--keyring", str(keyring)]
    else:
        cmd += ["--demo"]
    cmd += list(extra_args)
    log_path = data_dir / "logs" / (log_name or f"worker-{worker_id}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    proc.log_path = log_path  # so a failure can quote the worker's own last words
    return proc


def _last_error(proc: subprocess.Popen) -> str:
    """The worker's last `Error:` line (its one-line start-up errors), else its last log line."""
    try:
        lines = [line.strip() for line in Path(proc.log_path).read_text(errors="replace").splitlines() if line.strip()]
    except (AttributeError, OSError):
        return ""
    errors = [line for line in lines if line.startswith("Error:")]
    last = errors[-1] if errors else (lines[-1] if lines else "")
    return f": {last[:300]}" if last else ""


def send_watermark(bootstrap: str, watermark_ms: int, partitions: int | None = None) -> None:
    """Advance every partition's event-time watermark so the open windows close (end of a finite run)."""
    # Imported here, like the other stage and client modules below: kafka-python, faust and the kernels cost
    # seconds, and the worker processes the demo starts import them anyway.
    from kafka import KafkaProducer

    from pipeline.kanon.agent import control_message
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        parts = producer.partitions_for(TOPIC_PSEUDONYMIZED) or set(range(partitions or 1))
        for partition in sorted(parts):
            producer.send(TOPIC_PSEUDONYMIZED, value=control_message(watermark_ms), partition=partition,
                          headers=[(HEADER_KIND, KIND_CONTROL)])
        producer.flush()
    finally:
        producer.close()


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise DemoError(f"worker exited with code {proc.returncode} while waiting for {what}{_last_error(proc)} "
                            f"(log: {getattr(proc, 'log_path', 'n/a')})")
        time.sleep(poll)
    raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")


def accounted(data_dir: Path, events_in: int, rows_before: int = 0) -> bool:
    """This run's events all landed: the lake and the DLQ hold `events_in` more rows than the `rows_before` of
    earlier runs into the same data dir."""
    return zone_rows(data_dir, PSEUDONYMIZED) + dlq_rows(data_dir) - rows_before >= events_in


def windows_released(data_dir: Path, partitions: int = 4) -> bool:
    """Every landed event is in a released window, and every published cell of those windows has landed too
    (aggregates and stats are separate topics and sinks, so the stats row can land first).

    Checked by (window, stage partition) pairs, not by summing events: window stats withhold counts that would
    cover fewer than k people (pipeline/kanon/stats.py)."""
    stats = window_stats_totals(data_dir)
    if stats["windows"] == 0 or zone_rows(data_dir, AGGREGATES) < stats["published_cells"]:
        return False
    from pipeline.pseudonymize.batch import partition_for
    events = read_zone(data_dir, PSEUDONYMIZED).select(["event_hour", "event_type"])
    size_ms = 3_600_000
    hours = pc.cast(events.column("event_hour"), "int64").to_pylist()
    types = events.column("event_type").to_pylist()
    needed = {((h // size_ms) * size_ms, partition_for(t, partitions)) for h, t in set(zip(hours, types))}
    rows = read_zone(data_dir, WINDOW_STATS)
    rows = rows.filter(pc.equal(rows.column("kind"), "window"))
    released = set(zip(pc.cast(rows.column("window_start"), "int64").to_pylist(), rows.column("partition").to_pylist()))
    return needed <= released


def demo_policy(data_dir: Path, k: int | None, release: str | None = None) -> Path | None:
    if k is None and release is None:
        return None
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    if k is not None:
        data["kanon"]["k"] = k
        data["version"] = f"{data['version']}+k{k}"
    if release is not None:
        data["kanon"]["release"] = release
        data["version"] = f"{data['version']}+{release}"
    path = data_dir / "demo-policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    from pipeline.policy.loader import PolicyError, load_policy
    try:
        load_policy(path)  # a bad --k is one clear line now, not a worker that dies at start-up
    except PolicyError as exc:
        raise DemoError(str(exc).replace(str(path), "demo policy")) from None
    return path


def run_demo(data_dir: Path, events: int = 20_000, input_file: Path | None = None, k: int | None = None,
             malformed: float = 0.02, seed: int = 7, timeout: float = 110.0, release: str | None = None) -> Summary:
    started = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    if input_file is None:
        input_file = data_dir / "input" / f"demo-{seed}-{events}.ndjson"
        input_file.parent.mkdir(parents=True, exist_ok=True)
        with open(input_file, "wb") as handle:
            for line in TelemetryGenerator(seed, end=dt.datetime.now(dt.timezone.utc)).lines(events, malformed):
                handle.write(line + b"\n")
    from pipeline.publish import count_lines, publish_file
    events_in = count_lines(input_file)
    policy = demo_policy(data_dir, k, release)
    released = (lambda: windows_released(data_dir)) if release in (None, "k_anonymity") else \
        _dp_released(data_dir, policy)
    files_before = len(_all_files(data_dir))
    pseudonymized_before, dlq_before = zone_rows(data_dir, PSEUDONYMIZED), dlq_rows(data_dir)
    aggregates_before, stats_before = zone_rows(data_dir, AGGREGATES), window_stats_totals(data_dir)
    with EmbeddedBroker(log_path=data_dir / "logs" / "broker.log" if _mk(data_dir / "logs") else None) as broker:
        from pipeline.topics import ensure_topics
        ensure_topics(broker.bootstrap, 4)
        worker = start_worker(broker.bootstrap, data_dir, policy=policy)
        try:
            publish_file(input_file, broker.bootstrap)
            earlier_runs = pseudonymized_before + dlq_before
            wait_for(lambda: accounted(data_dir, events_in, earlier_runs), timeout - (time.monotonic() - started),
                     "every event to land in the lake or the DLQ", worker)
            far_future = int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)).timestamp() * 1000)
            send_watermark(broker.bootstrap, far_future)
            wait_for(released, max(10.0, timeout - (time.monotonic() - started)),
                     "the open windows to close", worker)
        finally:
            stop_process(worker)
    stats = {name: value - stats_before[name] for name, value in window_stats_totals(data_dir).items()}
    # this run's figures, also when the data dir holds earlier runs
    return Summary(events_in=events_in, dlq=dlq_rows(data_dir) - dlq_before,
                   pseudonymized_rows=zone_rows(data_dir, PSEUDONYMIZED) - pseudonymized_before,
                   aggregate_rows=zone_rows(data_dir, AGGREGATES) - aggregates_before,
                   suppressed_events=stats["suppressed_events"], late_events=stats["late_events"],
                   windows=stats["windows"], hours=stats.get("hours", 0),
                   files_written=len(_all_files(data_dir)) - files_before,
                   wall_seconds=time.monotonic() - started, data_dir=data_dir)


def _dp_released(data_dir: Path, policy: Path):
    """A DP release publishes no exact totals: wait for a stats row (or a refusal) per window and partition."""
    from pipeline.dp.progress import windows_released as dp_windows_released
    from pipeline.policy.loader import load_policy
    config = load_policy(policy).policy.kanon
    return lambda: dp_windows_released(data_dir, config, partitions=4)


def _mk(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


def _all_files(data_dir: Path) -> list[Path]:
    return [p for zone in (PSEUDONYMIZED, AGGREGATES, WINDOW_STATS) for p in parquet_files(data_dir, zone)] + \
        list((data_dir / "dlq").rglob("*.ndjson"))
