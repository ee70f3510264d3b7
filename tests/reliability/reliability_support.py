"""Helpers of the reliability suite: publish raw envelopes, read what landed, watch worker processes and logs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
from checks import epoch_ms, read_dlq
from harness import PipelineRun

from pipeline.demo import windows_released

# faust prints "Crashed reason=…" when an agent dies; a Python traceback means something escaped a handler.
CRASH_PATTERNS = re.compile(r"Crashed|Traceback \(most recent call last\)|Agent crashed", re.IGNORECASE)


def publish_envelopes(bootstrap: str, envelopes: list[bytes], *, partitions: int = 4) -> None:
    """Send each envelope as one raw-topic message (round-robin partitions), waiting for every acknowledgement."""
    from kafka import KafkaProducer

    from pipeline.settings import TOPIC_RAW
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=16 * 1024 * 1024,
                             client_id="reliability-publisher")
    try:
        futures = [producer.send(TOPIC_RAW, value=envelope, partition=i % partitions)
                   for i, envelope in enumerate(envelopes)]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def lake_frame(data_dir: Path, zone: str) -> pd.DataFrame:
    root = data_dir / "lake" / zone
    if not root.exists():
        return pd.DataFrame()
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pandas()


def lake_event_ids(data_dir: Path) -> list[str]:
    frame = lake_frame(data_dir, "pseudonymized")
    return [] if frame.empty else frame["event_id"].tolist()


def count_lake_rows(data_dir: Path) -> int:
    """Rows in the pseudonymized zone, read from Parquet footers (cheap enough to poll)."""
    import pyarrow.parquet as pq
    root = data_dir / "lake" / "pseudonymized"
    return sum(pq.ParquetFile(p).metadata.num_rows for p in root.rglob("*.parquet")) if root.exists() else 0


def dlq_entries(data_dir: Path) -> list[dict]:
    return read_dlq(data_dir) if (data_dir / "dlq").exists() else []


def raw_bytes(entry: dict) -> bytes:
    import base64
    if entry.get("raw_encoding") == "base64":
        return base64.b64decode(entry["raw"])
    return entry["raw"].encode("utf-8")


def wait_until(condition, timeout: float, what: str, procs: list[subprocess.Popen] = (), poll: float = 0.5):
    """Poll `condition`; fail early (with the exit code) if a process that must stay up died."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with code {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def crash_lines(log_text: str) -> list[str]:
    return [line for line in log_text.splitlines() if CRASH_PATTERNS.search(line)]


def kill9(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group (it runs in its own session): no cleanup code runs."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def temp_files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.name.endswith(".tmp")]


def aggregates_sorted(data_dir: Path) -> pd.DataFrame:
    """The aggregates zone as a frame sorted on every column, without the batch id (it names files, not facts)."""
    frame = lake_frame(data_dir, "aggregates")
    frame = frame.drop(columns=[c for c in ("batch_id",) if c in frame.columns])
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    columns = sorted(frame.columns)
    return frame[columns].sort_values(columns).reset_index(drop=True)


def accounted(run: PipelineRun, total: int) -> bool:
    return count_lake_rows(run.data_dir) + len(dlq_entries(run.data_dir)) >= total


def windows_left(run: PipelineRun) -> set:
    """(window start, kanon partition) of every landed event whose window has no released stats row yet.

    Stronger than the harness's count check, which late (replayed) events can satisfy before the release.
    """
    events = lake_frame(run.data_dir, "pseudonymized")
    stats = lake_frame(run.data_dir, "window_stats")
    hours = epoch_ms(events["event_hour"]) if not events.empty else []
    needed = {(int(h), zlib.crc32(t.encode()) % run.partitions) for h, t in zip(hours, events.get("event_type", []))}
    if stats.empty:
        return needed
    windows = stats[stats["kind"] == "window"]
    released = {(int(w), int(p)) for w, p in zip(epoch_ms(windows["window_start"]), windows["partition"])}
    return needed - released


def finish(run: PipelineRun, total: int) -> None:
    wait_until(lambda: accounted(run, total), 180, "every event to be accounted for", run.workers[-1:])
    close_all_windows(run)


def close_all_windows(run: PipelineRun) -> None:
    from pipeline.demo import send_watermark
    send_watermark(run.broker.bootstrap, int((time.time() + 10 * 365 * 86400) * 1000))
    # stats and aggregates land through separate sinks: wait for both (the stats row can land first)
    wait_until(lambda: not windows_left(run) and windows_released(run.data_dir, run.partitions), 120,
               "every window and its aggregate rows to be released", run.workers[-1:])


def reference_run(root: Path, keyring: Path, lines: list[bytes]) -> PipelineRun:
    """One worker, no interruption: the run every disturbed run's aggregates are compared with."""
    run = PipelineRun(root, keyring).start(workers=1)
    try:
        run.publish(lines)
        finish(run, len(lines))
    finally:
        run.stop()
    return run
