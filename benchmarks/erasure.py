"""Erasure and its ingest blocklist, timed next to baselines measured in the same run.

1. `forget` of one person over a pseudonymized zone (linkage of the whole zone per key epoch, then rewrite of the
   files holding the person's rows) vs the earlier single-identifier erasure (scan for the seed pseudonyms only,
   rewrite the same way), on the same lake copy.
2. The ingest stage's blocklist check (`ErasedSubjects.drop`) on 1,000-row batches with N blocked pseudonyms vs
   the same batches without a blocklist.

Run: python benchmarks/erasure.py [--rows 400000] [--people 20000] [--blocked 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from pipeline.keys.pseudonym import pseudonym_list  # noqa: E402
from pipeline.keys.ring import ACTIVE, Key, KeyRing  # noqa: E402
from pipeline.lake.blocklist import BlockEntry, ErasedSubjects, add_entries  # noqa: E402
from pipeline.lake.erasure import erase_person  # noqa: E402
from pipeline.lake.layout import PSEUDONYMIZED, zone_dir  # noqa: E402
from pipeline.lake.writer import write_batch, write_parquet_atomic  # noqa: E402
from pipeline.policy.loader import load_policy, pseudonym_fields  # noqa: E402

UTC = dt.timezone.utc
RING = KeyRing([Key("m20250101", dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC), ACTIVE,
                    b"\x05" * 32)])
SECRET = RING.keys[0].secret


def build_lake(data_dir: Path, rows: int, people: int, seed: int = 3) -> None:
    """`rows` events of `people` people over 10 days; 70 % signed in, each person 1-2 devices, sessions."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, people, rows)
    device = person * 2 + (rng.random(rows) < 0.2)
    signed_in = rng.random(rows) < 0.7
    session = person * 50 + rng.integers(0, 30, rows)
    tokens = {name: pseudonym_list(SECRET, name, [f"{name[:1]}{v}" for v in values], 16) for name, values in
              (("user_id", person), ("device_id", device), ("session_id", session))}
    table = pa.table({
        "event_id": [f"e{i}" for i in range(rows)],
        "user_pseudonym": pa.array([t if s else None for t, s in zip(tokens["user_id"], signed_in.tolist())]),
        "device_pseudonym": tokens["device_id"], "cookie_pseudonym": pa.nulls(rows, pa.string()),
        "session_pseudonym": tokens["session_id"], "key_id": ["m20250101"] * rows,
        "event_date": [f"2025-01-{10 + d:02d}" for d in rng.integers(0, 10, rows)],
    })
    for i in range(8):  # several files per day, as the sink writes them
        part = table.slice(i * rows // 8, rows // 8)
        write_batch(data_dir, PSEUDONYMIZED, part, f"r000-{i:019d}-p0")


def seed_only_erasure(data_dir: Path, user: str) -> int:
    """The earlier erasure: rows whose user pseudonym is the seed; same file scan and atomic rewrite."""
    token = pseudonym_list(SECRET, "user_id", [user], 16)[0]
    removed = 0
    for path in sorted(zone_dir(data_dir, PSEUDONYMIZED).glob("*/*.parquet")):
        probe = pq.read_table(path, columns=["key_id", "user_pseudonym"])
        hit = pc.fill_null(pc.and_(pc.equal(probe["key_id"], "m20250101"), pc.equal(probe["user_pseudonym"], token)),
                           False)
        if not pc.any(hit).as_py():
            continue
        table = pq.read_table(path)
        write_parquet_atomic(path, table.filter(pc.invert(hit)))
        removed += pc.sum(hit).as_py()
    return removed


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--blocked", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fields = pseudonym_fields(load_policy())
    root = Path(tempfile.mkdtemp(prefix="anonpipe-erasure-bench-"))
    try:
        master = root / "master"
        build_lake(master, args.rows, args.people)

        def fresh() -> Path:
            copy = root / "copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(master, copy)
            return copy

        results = {"ours": [], "baseline": []}
        removed = {}
        for i in range(args.repeats):
            user = f"u{i * 7}"
            copy = fresh()
            start = time.perf_counter()
            removed["baseline"] = seed_only_erasure(copy, user)
            results["baseline"].append(time.perf_counter() - start)
            copy = fresh()
            start = time.perf_counter()
            removed["ours"] = erase_person(copy, RING, {"user_id": user}, fields, block=False).rows_removed
            results["ours"].append(time.perf_counter() - start)
        ours, base = statistics.median(results["ours"]), statistics.median(results["baseline"])
        print(f"forget one person, {args.rows:,} rows / {args.people:,} people: linked erasure {ours:.2f} s "
              f"({removed['ours']} rows incl. signed-out ones) vs seed-only {base:.2f} s ({removed['baseline']} rows)"
              f" = {ours / base:.1f}x the time")

        from pipeline.generate import TelemetryGenerator
        from pipeline.keys.ring import ephemeral_ring
        from pipeline.pseudonymize.core import pseudonymize_batch
        from pipeline.validate.core import EVENT_TIME_MS, parse_time_ms
        policy, ring = load_policy(), ephemeral_ring("monthly")
        events = list(TelemetryGenerator(5, hours=24).events(1000))
        for event in events:
            event[EVENT_TIME_MS] = parse_time_ms(event["occurred_at"])
        rng = np.random.default_rng(1)
        blocked = pseudonym_list(SECRET, "device_id", [f"d{v}" for v in range(args.blocked)], 16)
        data_dir = root / "blocklist"
        add_entries(data_dir, [BlockEntry("m20250101", "device_pseudonym", t, "2099-01-01T00:00:00+00:00")
                               for t in blocked])
        batches = [pa.table({"key_id": ["m20250101"] * 1000, "device_pseudonym": pseudonym_list(
            SECRET, "device_id", [f"d{v}" for v in rng.integers(0, 1000 * args.blocked, 1000)], 16),
            "user_pseudonym": pa.nulls(1000, pa.string())}) for _ in range(200)]
        erased = ErasedSubjects(data_dir)
        with_list = timed(lambda: [erased.drop(b) for b in batches], args.repeats) / len(batches)
        services: dict = {}  # the operators' engines and caches, kept across batches as the ingest stage does
        pseudonymize_batch(events, policy, ring, services)
        kernel = timed(lambda: pseudonymize_batch(events, policy, ring, services), args.repeats)
        print(f"ingest blocklist, 1,000-row batch (~0.1 % of rows blocked), {args.blocked:,} blocked pseudonyms: "
              f"{with_list * 1e6:.0f} µs per batch = {with_list / kernel:.1%} of the pseudonymize kernel on a "
              f"1,000-event batch ({kernel * 1e3:.1f} ms) in this run; without erasures the check is skipped")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
