"""Benchmark of the ingest step alone (BatchIngest.run, no broker) over one-event messages, batched as the worker
gathers them (5,000 messages over 4 raw partitions), cold caches.

Printed, with ratios from the same run:
  in process      the kernel alone (`--no-text-pii-process`): the baseline
  helper process  new texts cleaned partly in a helper process (the worker's default)
Both runs give the same outputs (checked here: every pseudonymized and DLQ payload byte for byte). Wall and CPU
seconds of this process are printed; the helper's CPU is its own.

Run: `python benchmarks/ingest_offline.py` (≈ 1 minute on 2 cores); `--events N` changes the size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import zlib

import orjson

from pipeline.generate import TelemetryGenerator
from pipeline.keys.ring import ephemeral_ring
from pipeline.operators.text_pii import TEXT_ENGINE, TEXT_PROCESS
from pipeline.policy.loader import load_policy
from pipeline.pseudonymize.batch import BatchIngest, RawMessage
from pipeline.text_pii.offload import TextPiiProcess

PARTITIONS = 4
BATCH = 5_000


def one_event_messages(lines: list[bytes]) -> list[RawMessage]:
    """One message per event, partitioned by device id as a keyed producer would."""
    offsets = [0] * PARTITIONS
    messages = []
    for line in lines:
        partition = zlib.crc32(str(orjson.loads(line).get("device_id")).encode()) % PARTITIONS
        messages.append(RawMessage(partition, offsets[partition], line))
        offsets[partition] += 1
    return messages


def run(messages: list[RawMessage], ring, helper: bool) -> tuple[float, float, list]:
    """(wall seconds, this process's CPU seconds, outputs) of BatchIngest.run over every batch, fresh caches."""
    policy = load_policy()  # operators of their own: empty caches
    from pipeline.text_pii.engine import TextPiiEngine
    services: dict = {TEXT_ENGINE: TextPiiEngine.from_config()}  # built before, as by a worker's first batches
    process = None
    if helper:
        process = services[TEXT_PROCESS] = TextPiiProcess()
        process._pool.submit(int).result()  # started, its engine loaded (the worker starts it at start-up)
    # The parsers built, as after a worker's first batch (operators of another policy object, so the measured ones
    # start with empty caches).
    BatchIngest(load_policy(), ring, "bench", PARTITIONS, "telemetry.raw", services=services).run(messages[:50])
    runner = BatchIngest(policy, ring, "bench", PARTITIONS, "telemetry.raw", services=services)
    outputs = []
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(messages), BATCH):
        out = runner.run(messages[start:start + BATCH])
        outputs.append(([m.payload for m in out.pseudonymized], [m.payload for m in out.dlq]))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if process is not None:
        process.close()
    return wall, cpu, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    end = dt.datetime.now(dt.UTC)
    print(f"generating {args.events:,} events …", flush=True)
    messages = one_event_messages(list(TelemetryGenerator(7, end=end).lines(args.events)))
    ring = ephemeral_ring(load_policy().policy.keys.rotation, end)  # one ring: the same pseudonyms in both runs
    results = {}
    for label, helper in (("in process", False), ("helper process", True)):
        wall, cpu, outputs = results[label] = run(messages, ring, helper)
        line = f"  {label:<16} {args.events / wall:>10,.0f} events/s   (wall {wall:.2f} s, this process's CPU {cpu:.2f} s)"
        if label != "in process":
            line += f"   x{results['in process'][0] / wall:.2f} in process"
        print(line, flush=True)
    same = results["in process"][2] == results["helper process"][2]
    print(f"  outputs byte for byte the same: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
