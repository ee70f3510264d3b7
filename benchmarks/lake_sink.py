"""Sink throughput: the sink's buffered zone writer vs one `pq.write_table` of the same rows, in rows/s.

Run: python benchmarks/lake_sink.py [--rows 200000] [--batch-rows 1000] [--flush-messages 200] [--dir PATH]
`--dir` should be on the lake's real disk: the sink fsyncs every file and its folder, and that cost depends on
the device.
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
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from pipeline.lake.layout import PSEUDONYMIZED  # noqa: E402
from pipeline.lake.rollover import SinkMessage  # noqa: E402
from pipeline.lake.writer import PARQUET_COMPRESSION, write_batch  # noqa: E402
from pipeline.lake.zone_writer import ZoneWriter  # noqa: E402

TARGET_RATIO = 0.7
UTC = dt.timezone.utc


def _hex_tokens(rng: np.random.Generator, count: int, length: int = 16) -> np.ndarray:
    raw = rng.integers(0, 256, size=(count, length // 2), dtype=np.uint8)
    return np.array([row.tobytes().hex() for row in raw], dtype=object)


def synthetic_rows(n: int, seed: int = 7) -> pa.Table:
    """Pseudonymized rows shaped like the default policy's output, over two event dates."""
    import h3
    rng = np.random.default_rng(seed)
    users = _hex_tokens(rng, 20_000)
    devices = _hex_tokens(rng, 25_000)
    sessions = _hex_tokens(rng, 60_000)
    cells = np.array([h3.latlng_to_cell(51.16 + dlat, 71.47 + dlng, 8)
                      for dlat, dlng in rng.normal(0, 0.05, size=(800, 2))], dtype=object)
    start = int(dt.datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
    hours = start + rng.integers(0, 48, n) * 3_600_000
    pick = lambda values, p=None: np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)]  # noqa: E731
    props = np.array(['{"screen":"home"}', '{"service":"transport","status":"new"}', '{"result_count":3}'],
                     dtype=object)
    columns = {
        "event_id": np.array([f"{i:032x}" for i in rng.integers(0, 2**62, n)], dtype=object),
        "event_type": pick(["app_open", "screen_view", "request_created", "request_status", "search"]),
        "event_hour": pa.array(hours, pa.timestamp("ms", tz="UTC")),
        "app_platform": pick(["android", "ios", "web"], [0.6, 0.3, 0.1]),
        "app_major": pick(["3", "4", "5"]),
        "user_pseudonym": users[rng.integers(0, len(users), n)],
        "device_pseudonym": devices[rng.integers(0, len(devices), n)],
        "cookie_pseudonym": pa.nulls(n, pa.string()),
        "session_pseudonym": sessions[rng.integers(0, len(sessions), n)],
        "ip_prefix": np.array([f"95.{a}.{b}.0/24" for a, b in rng.integers(0, 256, (n, 2))], dtype=object),
        "geo_h3": cells[rng.integers(0, len(cells), n)],
        "geo_h3_res": pa.array(np.full(n, 8, dtype=np.int8)),
        "browser_family": pick(["Chrome Mobile", "Safari", "Samsung Internet"]),
        "browser_major": pick(["120", "17", "23"]),
        "ua_os_family": pick(["Android", "iOS"]),
        "ua_device_class": pick(["phone", "tablet"], [0.9, 0.1]),
        "device_manufacturer": pick(["Samsung", "Apple", "Xiaomi", "Huawei"]),
        "device_class": pick(["phone", "tablet"], [0.9, 0.1]),
        "os_family": pick(["Android", "iOS", "HarmonyOS"], [0.6, 0.35, 0.05]),
        "os_major": pick(["12", "13", "14", "17"]),
        "screen_bucket": pick(["720x1600", "1080x2400", "1170x2532"]),
        "locale_language": pick(["ru", "kk", "en"], [0.6, 0.35, 0.05]),
        "network": pick(["wifi", "cellular"]),
        "properties": props[rng.integers(0, len(props), n)],
        "text": pa.nulls(n, pa.string()),
        "policy_version": np.full(n, "2026.11-default", dtype=object),
        "key_id": np.full(n, "m20250301", dtype=object),
    }
    table = pa.table({k: (v if isinstance(v, pa.Array) else pa.array(v, pa.string())) for k, v in columns.items()})
    dates = pa.array((hours // 86_400_000).astype(np.int32), pa.date32())
    # A stream delivers events roughly in time order, so a message usually falls in one date partition.
    return table.append_column("event_date", dates).sort_by("event_hour")


def messages(table: pa.Table, batch_rows: int) -> list[tuple[str, pa.Table]]:
    """The sink's input: (batch id, rows) per source message, built before timing starts."""
    out = []
    for i, offset in enumerate(range(0, table.num_rows, batch_rows)):
        batch_id = f"r001-{i:019d}-p0"
        out.append((batch_id, table.slice(offset, batch_rows)))
    return out


def per_message(msgs: list[tuple[str, pa.Table]], root: Path) -> None:
    """The sink of earlier versions: one write_batch (atomic, fsynced files) per ~1k-row message."""
    for batch_id, rows in msgs:
        write_batch(root, PSEUDONYMIZED, rows.append_column("batch_id", pa.array([batch_id] * rows.num_rows)), batch_id)


def sink(msgs: list[tuple[str, pa.Table]], root: Path, flush_messages: int) -> None:
    """What the sink agent does: ZoneWriter.write per `flush_messages` messages (ledger lookup, one atomic,
    fsynced file per date partition, batch ids in the footer). Messages arrive without the batch_id column."""
    writer = ZoneWriter(root, PSEUDONYMIZED)
    for start in range(0, len(msgs), flush_messages):
        writer.write([SinkMessage(batch_id, rows) for batch_id, rows in msgs[start:start + flush_messages]])


def sink_replayed(msgs: list[tuple[str, pa.Table]], root: Path, flush_messages: int) -> None:
    """The sink receiving everything twice (an upstream replay): the second pass must write nothing."""
    sink(msgs, root, flush_messages)
    sink(msgs, root, flush_messages)


def per_message_plain(msgs: list[tuple[str, pa.Table]], root: Path) -> None:
    """One plain pq.write_table per message: no partition split, temp name, rename or fsync (diagnostic)."""
    root.mkdir(parents=True, exist_ok=True)
    for batch_id, rows in msgs:
        pq.write_table(rows, root / f"{batch_id}.parquet", compression=PARQUET_COMPRESSION)


def single_write(table: pa.Table, root: Path, compression: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "all.parquet", compression=compression)


def timed(fn, data, rows: int, workdir: Path, repeats: int, *args) -> tuple[float, float]:
    """(best, median) rows/s over `repeats` runs, each into a fresh folder (a rewrite would hit warm files)."""
    rates = []
    for r in range(repeats):
        target = workdir / f"run-{fn.__name__}-{r}"
        start = time.perf_counter()
        fn(data, target, *args)
        rates.append(rows / (time.perf_counter() - start))
        shutil.rmtree(target)
    return max(rates), statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=1_000, help="rows per source message")
    parser.add_argument("--flush-messages", type=int, default=200, help="messages per sink write (worker default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="scratch folder on the lake's disk (default: a temp dir)")
    args = parser.parse_args(argv)

    msgs = messages(synthetic_rows(args.rows), args.batch_rows)
    whole = pa.concat_tables(rows for _, rows in msgs).combine_chunks()  # the same rows, one table
    n = whole.num_rows
    workdir = Path(tempfile.mkdtemp(prefix="lake-sink-bench-", dir=args.dir))
    try:
        one_zstd = timed(single_write, whole, n, workdir, args.repeats, PARQUET_COMPRESSION)
        one_default = timed(single_write, whole, n, workdir, args.repeats, "snappy")
        each = timed(per_message, msgs, n, workdir, args.repeats)
        each_plain = timed(per_message_plain, msgs, n, workdir, args.repeats)
        buffer = timed(sink, msgs, n, workdir, args.repeats, args.flush_messages)
        replay = timed(sink_replayed, msgs, 2 * n, workdir, args.repeats, args.flush_messages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    scratch = args.dir or tempfile.gettempdir()
    print(f"rows: {args.rows:,} in messages of {args.batch_rows:,} rows; scratch on {scratch}")
    print(f"{'variant':58} {'best rows/s':>12} {'median':>12} {'ratio':>7}")
    base = one_zstd[0]
    lines = [
        (f"one pq.write_table, {PARQUET_COMPRESSION} (baseline)", one_zstd),
        ("one pq.write_table, snappy (pyarrow default)", one_default),
        (f"sink ZoneWriter, {args.flush_messages} messages per write", buffer),
        ("sink ZoneWriter, every message delivered twice (rows/s counted twice)", replay),
        (f"older per-message files ({args.batch_rows:,} rows/file, fsync each)", each),
        ("per-message pq.write_table, no rename/fsync (diagnostic)", each_plain),
    ]
    for name, (best, median) in lines:
        print(f"{name:58} {best:12,.0f} {median:12,.0f} {best / base:7.2f}")
    ratio = buffer[0] / base
    print(f"sink reaches {ratio:.2f}× of one write_table (target {TARGET_RATIO}×): "
          f"{'yes' if ratio >= TARGET_RATIO else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
