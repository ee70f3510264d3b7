"""Soak test: N events (default 1,000,000) through one worker; RSS every second, throughput per 100k; verdict.

Run by `make soak` (not in CI). `--events 200000` is the quick variant. The input is generated and published in
chunks while the worker runs, so the broker holds at most a bounded backlog and the curve shows the worker,
not the publisher. Exit code 1 if RSS grows without bound or throughput decays (thresholds below).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import PipelineRun, make_keyring

from pipeline.generate import TelemetryGenerator

CHUNK = 50_000
STEP = 100_000
# Bounded: RSS in the last quarter of the run may exceed the post-warm-up level by this factor at most.
RSS_GROWTH_LIMIT = 1.5
# No decay: the slowest of the last 100k steps must reach this share of the median step rate.
THROUGHPUT_FLOOR = 0.6


def landed_rows(data_dir: Path) -> int:
    root = data_dir / "lake" / "pseudonymized"
    if not root.exists():
        return 0
    return sum(pq.ParquetFile(p).metadata.num_rows for p in root.rglob("*.parquet"))


def worker_rss(pid: int) -> int:
    """RSS of the worker and its children (faust runs in one process, but be safe)."""
    try:
        proc = psutil.Process(pid)
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.NoSuchProcess:
        return 0


def publish_in_chunks(run: PipelineRun, events: int, seed: int, max_backlog: int) -> threading.Thread:
    """Generate and publish CHUNK events at a time; pause while the worker is more than `max_backlog` behind."""
    def publish() -> None:
        sent = 0
        end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        while sent < events:
            count = min(CHUNK, events - sent)
            # one generator per chunk: each covers the same 24 h, so windows stay open and state stays realistic
            lines = list(TelemetryGenerator(seed + sent, end=end, hours=24).lines(count))
            while sent - landed_rows(run.data_dir) > max_backlog:
                time.sleep(0.5)
            run.publish(lines)
            sent += count
    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    return thread


def soak(events: int, seed: int, keep: bool) -> int:
    root = Path(tempfile.mkdtemp(prefix="anonpipe-soak-"))
    keyring = root / "secrets" / "keyring.json"
    make_keyring(keyring, around=dt.datetime.now(dt.UTC))
    run = PipelineRun(root, keyring).start(workers=1)
    worker = run.workers[0]
    samples: list[tuple[float, int, int]] = []  # (seconds, rss bytes, rows landed)
    steps: list[tuple[int, float]] = []  # (rows at step end, seconds for the step)
    started = time.monotonic()
    try:
        publisher = publish_in_chunks(run, events, seed, max_backlog=4 * CHUNK)
        next_step, step_started = STEP, started
        while True:
            now = time.monotonic()
            rows = landed_rows(run.data_dir)
            samples.append((now - started, worker_rss(worker.pid), rows))
            while rows >= next_step:
                steps.append((next_step, now - step_started))
                print(f"  {next_step:>9,} events  {STEP / (now - step_started):>8,.0f} ev/s  "
                      f"rss {samples[-1][1] / 2**20:>7.0f} MiB  t={now - started:>6.0f}s", flush=True)
                step_started, next_step = now, next_step + STEP
            if rows >= events:
                break
            if worker.poll() is not None:
                print(f"worker exited with code {worker.returncode}", file=sys.stderr)
                return 2
            if now - started > max(600.0, events / 300):
                print("timed out", file=sys.stderr)
                return 2
            time.sleep(1.0)
        publisher.join(timeout=30)
    finally:
        run.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return verdict(samples, steps, events, time.monotonic() - started)


def verdict(samples, steps, events: int, wall: float) -> int:
    rss = [s[1] for s in samples if s[1]]
    warm = rss[len(rss) // 4: len(rss) // 2] or rss
    tail = rss[3 * len(rss) // 4:] or rss
    baseline, late_peak = statistics.median(warm), max(tail)
    bounded = late_peak <= baseline * RSS_GROWTH_LIMIT
    rates = [STEP / seconds for _, seconds in steps if seconds > 0]
    median_rate = statistics.median(rates) if rates else 0.0
    no_decay = bool(rates) and min(rates[len(rates) // 2:]) >= THROUGHPUT_FLOOR * median_rate
    print("\nRSS curve (MiB, one sample per ~10% of the run):")
    for s in samples[:: max(1, len(samples) // 10)]:
        print(f"  t={s[0]:>6.0f}s  rows={s[2]:>9,}  rss={s[1] / 2**20:>7.0f}")
    print(f"\nevents {events:,} in {wall:.0f}s ({events / wall:,.0f} ev/s overall, median step {median_rate:,.0f} ev/s)")
    print(f"RSS after warm-up {baseline / 2**20:.0f} MiB, peak in last quarter {late_peak / 2**20:.0f} MiB "
          f"(limit x{RSS_GROWTH_LIMIT}): {'BOUNDED' if bounded else 'GROWING'}")
    print(f"throughput: slowest late step {min(rates[len(rates) // 2:]) if rates else 0:,.0f} ev/s vs median "
          f"{median_rate:,.0f} (floor {THROUGHPUT_FLOOR:.0%}): {'NO DECAY' if no_decay else 'DECAYS'}")
    return 0 if bounded and no_decay else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to push (200000 = quick variant)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data dir (lake, logs) for inspection")
    args = parser.parse_args()
    return soak(args.events, args.seed, args.keep)


if __name__ == "__main__":
    sys.exit(main())
