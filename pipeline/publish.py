"""Publish NDJSON telemetry to the raw topic with kafka-python, batching events into envelopes per partition."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path
from typing import Iterable, Iterator

import orjson
from kafka import KafkaProducer
from tqdm import tqdm

from pipeline.settings import TOPIC_RAW

DEFAULT_EVENTS_PER_ENVELOPE = 1000
DEFAULT_ENVELOPE_BYTES = 1_000_000


def routing_key(line: bytes) -> bytes:
    """The device id when the line parses (so one device's events stay in order), else the line itself."""
    try:
        device = orjson.loads(line).get("device_id")
    except (orjson.JSONDecodeError, AttributeError):
        return line[:64]
    return str(device).encode("utf-8") if device else line[:64]


def envelopes(lines: Iterable[bytes], partitions: int, max_events: int = DEFAULT_EVENTS_PER_ENVELOPE,
              max_bytes: int = DEFAULT_ENVELOPE_BYTES) -> Iterator[tuple[int, bytes, int]]:
    """(partition, NDJSON envelope, event count). A line that is not JSON travels alone, unjudged."""
    buffers: dict[int, list[bytes]] = {}
    sizes: dict[int, int] = {}
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        partition = zlib.crc32(routing_key(line)) % partitions
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            yield partition, line, 1
            continue
        if b"\n" in line:  # pretty-printed object: re-serialize onto one line
            line = orjson.dumps(orjson.loads(line))
        buffer = buffers.setdefault(partition, [])
        buffer.append(line)
        sizes[partition] = sizes.get(partition, 0) + len(line) + 1
        if len(buffer) >= max_events or sizes[partition] >= max_bytes:
            yield partition, b"\n".join(buffer), len(buffer)
            buffers[partition], sizes[partition] = [], 0
    for partition, buffer in buffers.items():
        if buffer:
            yield partition, b"\n".join(buffer), len(buffer)


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def publish_lines(lines: Iterable[bytes], bootstrap: str, *, topic: str = TOPIC_RAW, total: int | None = None,
                  progress: bool = True, max_events: int = DEFAULT_EVENTS_PER_ENVELOPE, **producer_options) -> int:
    """Send every line; returns the number of events (lines) published. Blocks until the broker acknowledged all."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=16_000_000,
                             client_id="anonpipe-publisher", **producer_options)
    try:
        partitions = len(producer.partitions_for(topic) or []) or 1
        sent = 0
        # A bar only on a terminal: redrawn with \r, it would fill a log file (the CLI prints one line at the end).
        on_terminal = progress and sys.stderr.isatty()
        with tqdm(total=total, unit="ev", disable=not on_terminal, desc=f"publish → {topic}") as bar:
            for partition, envelope, count in envelopes(lines, partitions, max_events):
                producer.send(topic, value=envelope, key=b"p%d" % partition, partition=partition)
                sent += count
                bar.update(count)
        producer.flush()
        return sent
    finally:
        producer.close()


def publish_file(path: Path, bootstrap: str, **options) -> int:
    with open(path, "rb") as handle:
        return publish_lines(handle, bootstrap, total=count_lines(path), **options)
