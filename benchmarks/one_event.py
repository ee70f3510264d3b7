"""Benchmark of ingest with one event per message (what Kafka clients send by default) against envelopes.

Same generated events, same embedded broker set-up, one worker. Printed, with ratios:
  raw loop       an aiokafka `getmany` loop (the client faust uses) that parses every event's JSON, over the
                 one-event topic: the ceiling of any Python consumer here (the baseline of the ingest target)
  ingest only    a worker running only the ingest stage over the one-event topic
  all stages     a worker running ingest + k-anonymity + lake over the one-event topic
  envelopes      a worker running all stages over the same events in envelopes of 1,000 (the reference run)
Targets (issue 15): ingest only ≥ 0.5 × raw loop; all stages with one-event messages ≥ 0.5 × all stages with
envelopes.

Run: `python benchmarks/one_event.py` (≈ 3–5 minutes on 2 cores); `--events N` changes the size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pseudonymize import faust_worker, line  # noqa: E402 - the worker measurement of the envelope benchmark

from pipeline.broker import EmbeddedBroker  # noqa: E402
from pipeline.generate import TelemetryGenerator  # noqa: E402
from pipeline.publish import publish_lines  # noqa: E402
from pipeline.settings import TOPIC_RAW  # noqa: E402
from pipeline.topics import ensure_topics  # noqa: E402

PARTITIONS = 4
TARGET_RATIO = 0.5


def publish_one_event(bootstrap: str, lines: list[bytes]) -> None:
    """One message per event, keyed by device id, as docs/producers.md shows (librdkafka, batched on the wire)."""
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": False,
                         "linger.ms": 20, "batch.num.messages": 10000, "queue.buffering.max.messages": 500000})
    for raw in lines:
        key = orjson.loads(raw).get("device_id", "")
        while True:
            try:
                producer.produce(TOPIC_RAW, key=str(key).encode(), value=raw)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("not every message was delivered")


async def raw_loop(bootstrap: str, expected: int) -> None:
    """getmany + orjson.loads of every message; prints first and last monotonic time."""
    from aiokafka import AIOKafkaConsumer
    consumer = AIOKafkaConsumer(TOPIC_RAW, bootstrap_servers=bootstrap, group_id="bench-raw-loop",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 << 20, fetch_max_bytes=32 << 20)
    await consumer.start()
    seen, first = 0, None
    try:
        while seen < expected:
            for messages in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                first = first or time.monotonic()
                for message in messages:
                    orjson.loads(message.value)
                seen += len(messages)
        print(f"{first} {time.monotonic()}", flush=True)
    finally:
        await consumer.stop()


def measure_raw_loop(bootstrap: str, total: int) -> float:
    run = subprocess.run([sys.executable, __file__, "--raw-loop", bootstrap, str(total)], capture_output=True,
                         text=True, timeout=300, check=True)
    first, done = map(float, run.stdout.split())
    return total / (done - first)


def one_broker(lines: list[bytes], root: Path, one_event: bool) -> dict[str, float]:
    """Rates of the runs over one broker whose raw topic holds `lines` one per message, or in envelopes."""
    total = len(lines)
    rates: dict[str, float] = {}
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, PARTITIONS)
        started = time.perf_counter()
        if one_event:
            publish_one_event(broker.bootstrap, lines)
        else:
            publish_lines(lines, broker.bootstrap, progress=False)
        shape = "one event per message" if one_event else "envelopes of 1,000"
        print(f"  published {total:,} events, {shape}, in {time.perf_counter() - started:.1f} s")
        if one_event:
            rates["raw"] = measure_raw_loop(broker.bootstrap, total)
            line("raw aiokafka getmany loop + JSON parse", rates["raw"], "ev/s")
        # All stages first: its k-anonymity stage would otherwise also read the ingest-only run's output.
        runs = (("all", "ingest,kanon,lake"), ("ingest", "ingest")) if one_event else (("all", "ingest,kanon,lake"),)
        for done_before, (name, stages) in enumerate(runs):
            rate, peak_mb, _ = faust_worker(broker.bootstrap, root / f"{'one' if one_event else 'env'}-{name}", total,
                                            PARTITIONS, stages, rows_before=done_before * total)
            rates[name] = rate
            line(f"worker, {'all stages' if name == 'all' else 'ingest only'}", rate, "ev/s",
                 rates.get("raw"), "raw loop")
            print(f"    peak RSS {peak_mb:,.0f} MB")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--raw-loop", nargs=2, metavar=("BOOTSTRAP", "EVENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_loop:
        asyncio.run(raw_loop(args.raw_loop[0], int(args.raw_loop[1])))
        return
    print(f"generating {args.events:,} events …", flush=True)
    lines = list(TelemetryGenerator(7, end=dt.datetime.now(dt.UTC)).lines(args.events))
    with tempfile.TemporaryDirectory(prefix="anonpipe-one-event-") as tmp:
        print("(a) one event per message")
        one = one_broker(lines, Path(tmp), one_event=True)
        print("(b) envelopes of 1,000 events (the same events)")
        envelopes = one_broker(lines, Path(tmp), one_event=False)
    print("summary")
    line("raw getmany loop (one event per message)", one["raw"], "ev/s")
    line("ingest-only worker, one event per message", one["ingest"], "ev/s", one["raw"], "raw loop")
    line("all-stages worker, envelopes", envelopes["all"], "ev/s")
    line("all-stages worker, one event per message", one["all"], "ev/s", envelopes["all"], "envelopes")
    for label, ours, base in (("ingest only ≥ 0.5 × raw loop", one["ingest"], one["raw"]),
                              ("all stages, one event ≥ 0.5 × envelopes", one["all"], envelopes["all"])):
        print(f"  target {label}: {'met' if ours / base >= TARGET_RATIO else 'NOT met'} (x{ours / base:.2f})")


if __name__ == "__main__":
    main()
