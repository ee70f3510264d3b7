"""Helpers of the reliability suite: publish raw envelopes, read what landed, watch worker processes and logs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
from checks import read_dlq

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
