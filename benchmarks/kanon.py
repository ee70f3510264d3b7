"""Benchmark of the k-anonymity stage: window-release kernel events/s and suppression rate at k = 5, 10, 20 on
200k generated events, and events/s of the aggregation agent through the embedded broker next to a raw aiokafka
consume loop over the same messages (the Python ceiling) in the same run."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from pipeline.generate import TelemetryGenerator
from pipeline.kanon.core import pre_aggregate, release_window
from pipeline.keys.ring import ephemeral_ring
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import validate_batch


def pseudonymized_batches(events: int, batch: int = 1000) -> tuple[list[pa.Table], object]:
    policy = load_policy()
    ring = ephemeral_ring()
    lines = list(TelemetryGenerator(5, end=dt.datetime.now(dt.timezone.utc), hours=24).lines(events))
    tables = []
    for start in range(0, len(lines), batch):
        valid = validate_batch([(b"\n".join(lines[start:start + batch]), {})])
        tables.append(pseudonymize_batch(valid.events, policy, ring, columns=valid.columns).table)
    return tables, policy


def kernel_run(tables: list[pa.Table], policy, k: int) -> tuple[float, float, int]:
    config = policy.policy.kanon.model_copy(update={"k": k})
    started = time.perf_counter()
    windows: dict = {}
    for table in tables:
        for (window, cell), update in pre_aggregate(table, config, "event_hour").items():
            state = windows.setdefault(window, {}).setdefault(cell, type(update)())
            state.events += update.events
            state.subjects |= update.subjects
    total = suppressed = 0
    for cells in windows.values():
        by_type: dict = {}
        for cell, state in cells.items():
            by_type.setdefault(cell[0], {})[cell] = state
        for group in by_type.values():
            release = release_window(group, config)
            total += release.events
            suppressed += release.suppressed_events
    return time.perf_counter() - started, suppressed / max(total, 1), total


async def raw_consume(bootstrap: str, topic: str, expected_messages: int) -> float:
    from aiokafka import AIOKafkaConsumer
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)
    await consumer.start()
    started, seen = time.perf_counter(), 0
    try:
        while seen < expected_messages:
            batch = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--skip-broker", action="store_true")
    args = parser.parse_args()
    tables, policy = pseudonymized_batches(args.events)
    rows = sum(t.num_rows for t in tables)
    print(f"k-anonymity kernel on {rows:,} pseudonymized events (pre-aggregate + release, one core)")
    for k in (5, 10, 20):
        seconds, rate, total = kernel_run(tables, policy, k)
        print(f"  k={k:<3} {rows / seconds:>10,.0f} events/s   suppressed {rate:6.2%} of {total:,} events")
    if args.skip_broker:
        return
    from pipeline.broker import EmbeddedBroker
    from pipeline.common.wire import HEADER_BATCH_ID, encode_table
    from pipeline.demo import send_watermark, start_worker, stop_process, wait_for
    from pipeline.lake.counts import window_stats_totals
    from pipeline.settings import TOPIC_PSEUDONYMIZED
    from pipeline.topics import ensure_topics
    from kafka import KafkaProducer
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        data_dir = Path(tmp)
        ensure_topics(broker.bootstrap, 4)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=16_000_000, linger_ms=5)
        messages = 0
        for i, table in enumerate(tables):
            for partition in range(4):
                producer.send(TOPIC_PSEUDONYMIZED, value=encode_table(table), partition=partition,
                              headers=[(HEADER_BATCH_ID, f"r{partition:03d}-{i:019d}-q{partition}".encode())])
                messages += 1
        producer.flush()
        raw_seconds = asyncio.run(raw_consume(broker.bootstrap, TOPIC_PSEUDONYMIZED, messages))
        events_through = rows * 4
        worker = start_worker(broker.bootstrap, data_dir, partitions=4)
        started = time.perf_counter()
        try:
            far = int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)).timestamp() * 1000)
            time.sleep(1.0)
            send_watermark(broker.bootstrap, far)
            wait_for(lambda: window_stats_totals(data_dir)["events"] >= events_through, 600, "all windows", worker)
            agent_seconds = time.perf_counter() - started
        finally:
            stop_process(worker)
    print(f"aggregation through the embedded broker ({events_through:,} events in {messages:,} messages, 4 partitions)")
    print(f"  raw aiokafka consume loop   {events_through / raw_seconds:>12,.0f} events/s")
    print(f"  kanon agent (worker, incl. startup and sinks) {events_through / agent_seconds:>12,.0f} events/s "
          f"= {raw_seconds / agent_seconds:.2f} x raw")


if __name__ == "__main__":
    main()
