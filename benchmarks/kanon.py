"""Benchmark of the k-anonymity stage: window-release kernel events/s, suppression and roll-up rates at k = 5, 10,
20 on 200k generated events — counting people (linked identifiers, issue 14) next to the earlier rule (user
pseudonym, else device pseudonym) on the same data in the same run — how many people each linkage scope finds
against the generator's ground truth, the release step in the DP modes (`dp`, `both`; docs/dp.md) next to
k_anonymity on the same batches, and events/s of the aggregation agent through the embedded broker next to a
raw aiokafka consume loop over the same messages (the Python ceiling) in the same run."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from pipeline.generate import TelemetryGenerator
from pipeline.kanon.core import CellState, link_people, pre_aggregate, release_window
from pipeline.keys.ring import ephemeral_ring
from pipeline.linkage import subject_ids
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.batch import partition_for
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import validate_batch

PARTITIONS = 4


def pseudonymized_batches(events: int, batch: int = 1000) -> tuple[list[pa.Table], object, dict]:
    policy = load_policy()
    ring = ephemeral_ring()
    generator = TelemetryGenerator(5, end=dt.datetime.now(dt.timezone.utc), hours=24, keep_truth=True)
    lines = list(generator.lines(events))
    tables = []
    for start in range(0, len(lines), batch):
        valid = validate_batch([(b"\n".join(lines[start:start + batch]), {})])
        tables.append(pseudonymize_batch(valid.events, policy, ring, columns=valid.columns).table)
    return tables, policy, generator.person_of_event


def earlier_rule(cells: dict) -> dict:
    """The counting before issue 14: a subject is the first identifier of the tuple (user, else device)."""
    return {cell: CellState(s.events, {next(v for v in identity if v is not None) for identity in s.subjects})
            for cell, s in cells.items()}


def window_cells(tables: list[pa.Table], config, with_counts: bool = False) -> dict:
    """(window, stage partition) → cell → merged state, as the stream's table accumulates batches; `with_counts`
    also sums each identity's events per cell (what the DP path bounds)."""
    windows: dict = {}
    for table in tables:
        for (window, cell), update in pre_aggregate(table, config, "event_hour").items():
            partition = partition_for(cell[0], PARTITIONS)
            state = windows.setdefault((window, partition), {}).setdefault(cell, CellState())
            state.events += update.events
            state.subjects |= update.subjects
            if with_counts:
                for identity, count in update.counts.items():
                    state.counts[identity] = state.counts.get(identity, 0) + count
    return windows


def kernel_run(tables: list[pa.Table], policy, k: int, people: bool) -> tuple[float, float, float, int]:
    """(seconds, suppressed share of events, share of published rows that are rolled up, events)."""
    config = policy.policy.kanon.model_copy(update={"k": k})
    started = time.perf_counter()
    windows = window_cells(tables, config)
    total = suppressed = rows = rolled = 0
    for cells in windows.values():
        by_type: dict = {}
        for cell, state in (link_people(cells) if people else earlier_rule(cells)).items():
            by_type.setdefault(cell[0], {})[cell] = state
        for group in by_type.values():
            release = release_window(group, config)
            total += release.events
            suppressed += release.suppressed_events
            rows += len(release.rows)
            rolled += release.rolled_up_cells
    return time.perf_counter() - started, suppressed / max(total, 1), rolled / max(rows, 1), total


def linkage_scopes(tables: list[pa.Table], policy, truth: dict) -> None:
    """People per window found by each scope, summed over windows, against the generator's ground truth."""
    config = policy.policy.kanon
    table = pa.concat_tables(tables)
    hours = table.column("event_hour").cast(pa.int64()).to_pylist()
    parts = [partition_for(t, PARTITIONS) for t in table.column("event_type").to_pylist()]
    ids = [table.column(c) for c in config.subject_columns]
    first = [u if u is not None else d for u, d in zip(ids[0].to_pylist(), ids[1].to_pylist())]
    # Rows keep the generator's order (no malformed lines; the zone has no raw event id to join on).
    real = list(truth.values())
    if len(real) != table.num_rows:
        raise SystemExit(f"ground truth has {len(real)} events, the pseudonymized batches {table.num_rows}")

    def groups(keys) -> dict:
        out: dict = {}
        for i, key in enumerate(keys):
            out.setdefault(key, []).append(i)
        return out

    def per_scope(keys) -> int:
        return sum(len(set(subject_ids([column.take(rows) for column in ids]).tolist()))
                   for rows in groups(keys).values())
    by_window = groups(hours)
    truth_total = sum(len({real[i] for i in rows}) for rows in by_window.values())
    earlier = sum(len({first[i] for i in rows}) for rows in by_window.values())
    print(f"people per window, summed over {len(by_window)} windows (ground truth {truth_total:,}):")
    print(f"  earlier rule (user, else device)          {earlier:>8,}  ({earlier / truth_total - 1:+.1%})")
    partitioned = per_scope(list(zip(hours, parts)))
    print(f"  linked per window x stage partition (4)   {partitioned:>8,}  — summed per partition, a person "
          "active in two partitions counts in each")
    whole = per_scope(hours)
    print(f"  linked per window                         {whole:>8,}  ({whole / truth_total - 1:+.1%})")
    split = merged = 0
    for rows in by_window.values():
        components = subject_ids([column.take(rows) for column in ids]).tolist()
        pairs = {(c, real[i]) for c, i in zip(components, rows)}
        split += len(pairs) - len({real[i] for i in rows})
        merged += len(pairs) - len(set(components))
    print(f"    of which one person seen as several (unlinkable devices, private windows): +{split:,}; "
          f"several people merged (shared devices): -{merged:,}")
    day = len(set(subject_ids(ids).tolist()))
    print(f"  linked over the whole run (one scope)     {day:>8,}  people; ground truth "
          f"{len(set(real)):,} (+{day / len(set(real)) - 1:.1%}: signed-out people on several devices)")


def dp_kernel_run(tables: list[pa.Table], policy, mode: str) -> tuple[float, int, float]:
    """The same batches through the stream's DP path: pre-aggregate (with each person's events per cell), link,
    bound and noise per (window, stage partition), as pipeline/dp/stream.py does minus the ledger file.
    Returns (seconds, published rows, ε per window over all stage partitions)."""
    from pipeline.dp.release import release_dp
    from pipeline.dp.stream import cell_rows, partition_values, releasing_partitions
    config = policy.policy.kanon.model_copy(update={"release": mode})
    started = time.perf_counter()
    windows = window_cells(tables, config, with_counts=True)
    rows, epsilon = 0, {}
    releasing = releasing_partitions(config, PARTITIONS)
    for (window, partition), cells in windows.items():
        if partition not in releasing:
            continue
        columns, subjects, events = cell_rows(cells)
        release = release_dp(columns, subjects, events, config=config, mode=mode, share=1 / len(releasing),
                             partition_values=partition_values(config, partition, PARTITIONS))
        rows += len(release.rows)
        epsilon[window] = epsilon.get(window, 0.0) + release.epsilon
    return time.perf_counter() - started, rows, max(epsilon.values(), default=0.0)


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
    tables, policy, truth = pseudonymized_batches(args.events)
    rows = sum(t.num_rows for t in tables)
    print(f"k-anonymity kernel on {rows:,} pseudonymized events (pre-aggregate + link + release, one core, "
          f"{PARTITIONS} stage partitions)")
    for k in (5, 10, 20):
        for people, label in ((False, "earlier rule (pseudonyms)"), (True, "people (linked)")):
            seconds, rate, rolled, total = kernel_run(tables, policy, k, people)
            print(f"  k={k:<3} {label:<26} {rows / seconds:>10,.0f} events/s   suppressed {rate:6.2%} of "
                  f"{total:,} events   rolled-up rows {rolled:6.2%}")
    print("release step by mode (same batches, best of 3 alternating runs; target: dp ≤ 1.20 × k_anonymity)")
    best = {"k_anonymity": float("inf"), "dp": float("inf"), "both": float("inf")}
    detail = {}
    for _ in range(3):
        best["k_anonymity"] = min(best["k_anonymity"], kernel_run(tables, policy, policy.policy.kanon.k, True)[0])
        for mode in ("dp", "both"):
            seconds, published, epsilon = dp_kernel_run(tables, policy, mode)
            best[mode] = min(best[mode], seconds)
            detail[mode] = (published, epsilon)
    base = best["k_anonymity"]
    print(f"  k_anonymity (k={policy.policy.kanon.k})  {rows / base:>10,.0f} events/s")
    for mode in ("dp", "both"):
        published, epsilon = detail[mode]
        print(f"  {mode:<16} {rows / best[mode]:>10,.0f} events/s = {best[mode] / base:.2f} × k_anonymity's time   "
              f"({published:,} rows; ε spent per window ≤ {epsilon:g} of the policy's "
              f"{policy.policy.kanon.dp.epsilon_per_window:g})")
    linkage_scopes(tables, policy, truth)
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
            # every table went to every partition: all windows of all partitions (stats may withhold counts)
            expected = len({w for t in tables for w in t.column("event_hour").cast(pa.int64()).to_pylist()}) * 4
            wait_for(lambda: window_stats_totals(data_dir)["windows"] >= expected, 600, "all windows", worker)
            agent_seconds = time.perf_counter() - started
        finally:
            stop_process(worker)
    print(f"aggregation through the embedded broker ({events_through:,} events in {messages:,} messages, 4 partitions)")
    print(f"  raw aiokafka consume loop   {events_through / raw_seconds:>12,.0f} events/s")
    print(f"  kanon agent (worker, incl. startup and sinks) {events_through / agent_seconds:>12,.0f} events/s "
          f"= {raw_seconds / agent_seconds:.2f} x raw")


if __name__ == "__main__":
    main()
