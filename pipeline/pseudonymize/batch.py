"""One micro-batch of raw messages → pseudonymized messages per stage partition and dead letters (pure, no I/O).

Producers send one JSON event per message, or envelopes of many (NDJSON, a JSON array); both may share a topic.
Runs of one-event messages are joined into one NDJSON envelope, so validation and the kernel run once per batch
whatever the producer's batching, and an event's identity stays its source position (pipeline/positions.py):
(raw partition, offset, index in the message's envelope) within the raw topic's incarnation.

Every pseudonymized message names the positions it covers as a range id: "all rows of this raw partition for this
stage partition with positions in [lo, hi] are in this message, or in an earlier one of the same stream". The
lake sinks and the k-anonymity state keep these ranges, merged, to recognise what they already hold whatever the
batching of a replay. Claims only extend back over batches this instance processed itself in order (`Claims`).
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.common.positions import INDEX_BITS, MAX_INDEX, position, range_id, stream_id
from pipeline.common.rejects import (ENVELOPE_NOT_JSON, ENVELOPE_TOO_LARGE, ENVELOPE_TOO_MANY_EVENTS, INDEX,
                                     INTERNAL_ERROR, UNPARSED, WHOLE_MESSAGE, Reject, encode_reject_messages,
                                     reject_position)
from pipeline.common.wire import MAX_MESSAGE_BYTES, POSITION_COLUMN, encode_table
from pipeline.keys.ring import KeyRing
from pipeline.policy.loader import CompiledPolicy
from pipeline.pseudonymize.core import pseudonymize_batch
from pipeline.validate.core import TimeBounds, validate_batch
from pipeline.validate.envelope import MAX_EVENTS_PER_ENVELOPE, collector_paused, split_envelope_with_bytes

log = logging.getLogger(__name__)

assert MAX_EVENTS_PER_ENVELOPE <= MAX_INDEX + 1, "an envelope's event index must fit in a position's index bits"

# One-event messages joined into one envelope: below the validator's envelope limits (10,000 events, 8 MiB).
JOINED_MAX_EVENTS = 5_000
JOINED_MAX_BYTES = 4 * 1024 * 1024
DLQ_CLAIMS = -1  # the key of dead-letter claims in `Claims` (stage partitions are ≥ 0)
_ROW = "_ingest_row"  # row numbers across the erasure filter (never sent)


@dataclass(frozen=True)
class RawMessage:
    """One message of the raw topic: only its position and value are read (never its key or headers)."""

    partition: int
    offset: int
    value: bytes


@dataclass(frozen=True)
class OutMessage:
    batch_id: str
    payload: bytes
    partition: int | None = None  # the stage partition of a pseudonymized message; None for the DLQ


@dataclass
class IngestOutput:
    pseudonymized: list[OutMessage] = field(default_factory=list)
    dlq: list[OutMessage] = field(default_factory=list)
    events_in: int = 0
    rows_out: int = 0
    rejects: list[Reject] = field(default_factory=list)


def partition_for(value: str | None, partitions: int) -> int:
    """Stable partition of a partition-column value (crc32, same in every worker and language)."""
    return zlib.crc32((value or "").encode("utf-8")) % partitions


def split_by_partition(table: pa.Table, column: str, partitions: int) -> dict[int, pa.Table]:
    # partition_for once per distinct value (a null counts as one more), spread to the rows by index.
    encoded = table.column(column).combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist() + [None]
    by_value = np.array([partition_for(v, partitions) for v in distinct], dtype=np.int32)
    targets = by_value[pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy(zero_copy_only=False)]
    return {int(p): table.filter(pa.array(targets == p)) for p in np.unique(targets)}


def encoded_slices(table: pa.Table, max_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[int, bytes]]:
    """(first row, Arrow IPC message) of equal row slices, each message under `max_bytes` (deterministic)."""
    payload = encode_table(table)
    if len(payload) <= max_bytes or table.num_rows <= 1:
        return [(0, payload)]
    pieces = -(-len(payload) // max_bytes) + 1
    while True:
        rows = -(-table.num_rows // pieces)
        chunks = [(start, encode_table(table.slice(start, rows))) for start in range(0, table.num_rows, rows)]
        if rows == 1 or all(len(chunk) <= max_bytes for _, chunk in chunks):
            return chunks
        pieces *= 2


def one_line_event(payload: bytes) -> bytes | None:
    """The payload as one NDJSON line when it is a single JSON object on one line (what most producers send)."""
    if payload[:1] != b"{" or payload[-1:] != b"}":  # not the common case: look again without surrounding spaces
        payload = payload.strip()
        if payload[:1] != b"{":
            return None
    if b"\n" in payload or b"\r" in payload:
        return None
    return payload


def internal_error_rejects(payload: bytes, source: dict, exc: Exception) -> list[Reject]:
    """One reject per event of a message the kernel failed on (so every event stays accounted for).

    Only the exception type is recorded: its message could quote event values.
    """
    reason = f"pipeline error {type(exc).__name__} while processing the envelope"
    try:
        events, bad_lines = split_envelope_with_bytes(payload)
    except Exception:  # noqa: BLE001 - splitting itself failed: keep the envelope whole
        return [Reject(INTERNAL_ERROR, reason, payload, {**source, WHOLE_MESSAGE: True})]
    rejects = [Reject(INTERNAL_ERROR, reason, raw, {**source, INDEX: n}) for n, (_, raw) in enumerate(events)]
    for n, bad in enumerate(bad_lines):
        bad.source = {**source, **_unparsed_place(bad, n)}
    return rejects + bad_lines


def _where(exc: Exception) -> str:
    """file:line of the innermost frame (code location only, never values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else "?"


@dataclass
class _Payload:
    """One envelope handed to the validator: a message's own value, or one-event messages joined."""

    data: bytes
    messages: list[int]  # indices into the batch's messages: one for an envelope, one per line when joined
    lines: list[bytes] | None = None  # set when joined
    source: dict = field(default_factory=dict)
    partition: int | None = None


class Claims:
    """Per (raw partition, stage partition): the highest position already named by a message this instance sent.

    A message may claim back to there (the batches in between had no rows for that stage partition) only while
    this instance processed the raw partition without a gap; that keeps the ranges downstream merged into one per
    stream. Forgotten at every rebalance, where another worker may have processed the gap.
    """

    def __init__(self) -> None:
        self.processed_to: dict[int, int] = {}
        self.claimed: dict[tuple[int, int], int] = {}

    def start(self, raw_partition: int, lo: int) -> None:
        if self.processed_to.get(raw_partition) != lo - 1:
            for key in [k for k in self.claimed if k[0] == raw_partition]:
                del self.claimed[key]

    def lo(self, raw_partition: int, stage_partition: int, lo: int) -> int:
        claimed = self.claimed.get((raw_partition, stage_partition))
        return lo if claimed is None or claimed >= lo else claimed + 1

    def claim(self, raw_partition: int, stage_partition: int, hi: int) -> None:
        self.claimed[(raw_partition, stage_partition)] = hi

    def finish(self, raw_partition: int, hi: int) -> None:
        self.processed_to[raw_partition] = hi

    def forget(self) -> None:
        self.processed_to.clear()
        self.claimed.clear()


@dataclass
class BatchIngest:
    """Validate and pseudonymize a micro-batch; name every output by the source positions it covers."""

    policy: CompiledPolicy
    ring: KeyRing
    incarnation: str
    stage_partitions: int
    topic: str
    services: dict = field(default_factory=dict)
    claims: Claims = field(default_factory=Claims)
    # pipeline.lake.blocklist.ErasedSubjects: rows of erased people are dropped, never dead-lettered
    erased: Any = None

    def __post_init__(self) -> None:
        validation = self.policy.policy.validation
        self.bounds = TimeBounds(max_age=dt.timedelta(days=validation.max_age_days),
                                 max_future=dt.timedelta(minutes=validation.max_future_minutes))
        self.partition_column = self.policy.policy.kanon.partition_column

    def source(self, message: RawMessage) -> dict:
        return {"topic": self.topic, "partition": message.partition, "offset": message.offset}

    def run(self, messages: list[RawMessage]) -> IngestOutput:
        """Outputs of `messages` (any order; several raw partitions allowed). A message the kernel fails on is
        dead-lettered alone with an internal-error code; its neighbours go on."""
        messages = sorted(messages, key=lambda m: (m.partition, m.offset))
        output = IngestOutput()
        try:
            table, rows_message, rows_index, rejects, events_in = self._process(messages)
        except Exception as exc:  # noqa: BLE001 - find the poison message: each alone, the failing ones dead-lettered
            if len(messages) == 1:
                log.error("raw message partition %d offset %d failed in the kernel (%s at %s); its events were "
                          "dead-lettered", messages[0].partition, messages[0].offset, type(exc).__name__, _where(exc))
                rejects = internal_error_rejects(messages[0].value, self.source(messages[0]), exc)
                table, rows_message, rows_index, events_in = None, None, None, len(rejects)
            else:
                parts = [self.run([message]) for message in messages]
                self.claims.forget()  # the single-message runs above claimed for themselves: start afresh
                return self._merge(messages, parts)
        spans = _partition_spans(messages)
        for raw_partition, (lo, _) in spans.items():
            self.claims.start(raw_partition, lo)
        output.events_in = events_in
        output.rejects = rejects
        output.dlq = self._dlq_messages(messages, rejects)
        if table is not None and table.num_rows:
            output.pseudonymized = self._pseudonymized_messages(messages, table, rows_message, rows_index)
            output.rows_out = table.num_rows
        for raw_partition, (_, hi) in spans.items():
            self.claims.finish(raw_partition, hi)
        return output

    # ---- validation and kernel ------------------------------------------------------------------------------
    def _payloads(self, messages: list[RawMessage]) -> list[_Payload]:
        joined = self._joined_payloads(messages)
        return joined if joined is not None else self._payloads_one_by_one(messages)

    def _joined_payloads(self, messages: list[RawMessage]) -> list[_Payload] | None:
        """What `_payloads_one_by_one` gives when every message is one event on one line, as it is when producers
        send one event per message, found with a few C-level passes instead of a Python step per message; None
        otherwise (some message is not such a line, or a partition's run needs more than one envelope)."""
        values = [m.value for m in messages]
        if not values or set(map(type, values)) != {bytes}:
            return None
        partitions = np.fromiter((m.partition for m in messages), dtype=np.int64, count=len(messages))
        cuts = np.flatnonzero(np.diff(partitions)) + 1  # messages are sorted by partition: one run each
        firsts, lasts = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(values)])) - 1
        payloads: list[_Payload] = []
        for first, last in zip(firsts.tolist(), lasts.tolist()):
            lines = values[first:last + 1]
            data = b"\n".join(lines)
            # one envelope per run when it stays under the joining limits (the per-message loop would cut it)
            if len(lines) > JOINED_MAX_EVENTS or (len(lines) > 1 and len(data) >= JOINED_MAX_BYTES):
                return None
            # one_line_event(value) is value itself: starts with "{", ends with "}", no line break inside
            if data.count(b"\n") != len(lines) - 1 or b"\r" in data:
                return None
            lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
            if lengths.min() == 0:
                return None
            ends = np.cumsum(lengths + 1) - 1  # where each value's separator (or the end) is
            text = np.frombuffer(data, dtype=np.uint8)
            if not ((text[ends - lengths] == ord("{")).all() and (text[ends - 1] == ord("}")).all()):
                return None
            payloads.append(_Payload(data, list(range(first, last + 1)), lines,
                                     {"topic": self.topic, "joined": len(payloads)}, messages[first].partition))
        return payloads

    def _payloads_one_by_one(self, messages: list[RawMessage]) -> list[_Payload]:
        payloads: list[_Payload] = []
        joined: _Payload | None = None
        size = 0
        for number, message in enumerate(messages):
            value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
            line = one_line_event(value)
            if line is None:
                joined = None
                payloads.append(_Payload(value, [number], None, self.source(message)))
                continue
            if joined is None or joined.partition != message.partition or len(joined.lines) >= JOINED_MAX_EVENTS \
                    or size + len(line) >= JOINED_MAX_BYTES:
                joined = _Payload(b"", [], [], {"topic": self.topic, "joined": len(payloads)}, message.partition)
                payloads.append(joined)
                size = 0
            joined.lines.append(line)
            joined.messages.append(number)
            size += len(line) + 1
        for payload in payloads:
            if payload.lines is not None:
                payload.data = b"\n".join(payload.lines)
        return payloads

    def _process(self, messages: list[RawMessage]):
        payloads = self._payloads(messages)
        with collector_paused():
            valid = validate_batch([(p.data, p.source) for p in payloads], bounds=self.bounds)
            rows_message, rows_index = self._origins(messages, payloads, valid)
            if rows_message is None:  # a joined envelope did not split line by line: validate each message alone
                payloads = [_Payload(bytes(m.value or b""), [n], None, self.source(m)) for n, m in enumerate(messages)]
                valid = validate_batch([(p.data, p.source) for p in payloads], bounds=self.bounds)
                rows_message, rows_index = self._origins(messages, payloads, valid)
            placeholder = {"topic": self.topic}
            result = pseudonymize_batch(valid.events, self.policy, self.ring, self.services, placeholder,
                                        columns=valid.columns)
        events_in = len(valid.events) + len(valid.rejects)
        rejects = self._attribute(messages, payloads, valid.rejects)
        _place_rejects(messages, payloads, valid, rejects)
        for reject, row in zip(result.rejects, result.rejected_rows):
            reject.source = {**self.source(messages[rows_message[row]]), INDEX: int(rows_index[row])}
        rejects = rejects + result.rejects
        table = result.table
        if result.rejected_rows:
            keep = np.ones(len(rows_message), dtype=bool)
            keep[result.rejected_rows] = False
            rows_message, rows_index = rows_message[keep], rows_index[keep]
        offsets = np.array([m.offset for m in messages], dtype=np.int64)
        positions = (offsets[rows_message] << INDEX_BITS) | rows_index
        table = table.append_column(POSITION_COLUMN, pa.array(positions, pa.int64()))
        if self.erased is not None:
            table = table.append_column(_ROW, pa.array(np.arange(table.num_rows), pa.int64()))
            table, dropped = self.erased.drop(table)
            if dropped:
                log.info("%d event(s) of erased people dropped", dropped)
                kept = table.column(_ROW).to_numpy()
                rows_message, rows_index = rows_message[kept], rows_index[kept]
            table = table.drop_columns([_ROW])
        return table, rows_message, rows_index, rejects, events_in

    @staticmethod
    def _origins(messages, payloads: list[_Payload], valid) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(message index, event index in that message) of every valid event; None when a joined envelope's
        events do not map one to one onto its lines."""
        count = len(valid.events)
        if count == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        payload_of, index_in_payload = valid.payload_of, valid.index_in_payload
        rows_message = np.empty(count, np.int64)
        rows_index = np.zeros(count, np.int64)
        rejects_of: dict[int, list[Reject]] = defaultdict(list)
        for reject in valid.rejects:
            joined = reject.source.get("joined") if isinstance(reject.source, dict) else None
            if joined is not None:
                rejects_of[joined].append(reject)
        bounds = np.searchsorted(payload_of, np.arange(len(payloads) + 1))
        for number, payload in enumerate(payloads):
            start, stop = bounds[number], bounds[number + 1]
            if start == stop:
                continue
            if payload.lines is None:
                rows_message[start:stop] = payload.messages[0]
                rows_index[start:stop] = index_in_payload[start:stop]
                continue
            # NDJSON lines that are not JSON are not events: the validator's event index skips them
            not_json = {r.raw for r in rejects_of[number] if r.code == ENVELOPE_NOT_JSON}
            lines = [i for i, line in enumerate(payload.lines) if line not in not_json] if not_json \
                else range(len(payload.lines))
            judged = (stop - start) + sum(1 for r in rejects_of[number] if r.code != ENVELOPE_NOT_JSON)
            if judged != len(lines) or index_in_payload[stop - 1] >= len(lines):
                return None, None
            line_of = np.asarray(lines, dtype=np.int64)[index_in_payload[start:stop]]
            rows_message[start:stop] = np.asarray(payload.messages, dtype=np.int64)[line_of]
        return rows_message, rows_index

    def _attribute(self, messages, payloads: list[_Payload], rejects: list[Reject]) -> list[Reject]:
        """Rejects of a joined envelope name their own message (a one-event message's line is its value)."""
        by_line: dict[int, dict[bytes, deque]] = {}
        for reject in rejects:
            joined = reject.source.get("joined") if isinstance(reject.source, dict) else None
            if joined is None:
                continue
            if joined not in by_line:
                lines: dict[bytes, deque] = defaultdict(deque)
                for line, number in zip(payloads[joined].lines, payloads[joined].messages):
                    lines[line].append(number)
                by_line[joined] = lines
            owners = by_line[joined].get(reject.raw)
            # identical lines share their fate, so each copy's reject takes the next message with that value
            number = owners.popleft() if owners else payloads[joined].messages[0]
            reject.source = self.source(messages[number])
        return rejects

    # ---- outputs --------------------------------------------------------------------------------------------
    def _pseudonymized_messages(self, messages, table: pa.Table, rows_message: np.ndarray,
                                rows_index: np.ndarray) -> list[OutMessage]:
        out: list[OutMessage] = []
        partitions = np.array([messages[n].partition for n in rows_message], dtype=np.int64)
        spans = _partition_spans(messages)
        for raw_partition, (lo, hi) in spans.items():
            start, stop = np.searchsorted(partitions, [raw_partition, raw_partition + 1])
            if start == stop:
                continue
            rows = table.slice(start, stop - start)
            for dest, part in sorted(split_by_partition(rows, self.partition_column, self.stage_partitions).items()):
                stream = stream_id(self.incarnation, raw_partition, dest)
                chunks = encoded_slices(part)
                firsts = [part.column(POSITION_COLUMN)[start].as_py() for start, _ in chunks]
                for k, (_, payload) in enumerate(chunks):
                    chunk_lo = self.claims.lo(raw_partition, dest, lo) if k == 0 else firsts[k]
                    chunk_hi = firsts[k + 1] - 1 if k + 1 < len(chunks) else hi
                    out.append(OutMessage(range_id(stream, chunk_lo, chunk_hi), payload, dest))
                self.claims.claim(raw_partition, dest, hi)
        return out

    def _dlq_messages(self, messages, rejects: list[Reject]) -> list[OutMessage]:
        """Dead letters per raw partition, sorted by source position, each message named by the range it claims:
        "every reject of this raw partition with a position in [lo, hi] is in this message" (or, back to the last
        claim of this instance, in an earlier one: `Claims`). The batch holds every message of its span, so a
        message claims the whole span; a chunk under 1 MB claims from its first reject's position to the next
        chunk's. The DLQ sink leaves out dead letters a file already claims (pipeline/lake/dlq.py)."""
        if not rejects:
            return []
        spans = _partition_spans(messages)
        by_partition: dict[int, list[Reject]] = defaultdict(list)
        for reject in rejects:
            by_partition[reject.source.get("partition", messages[0].partition)].append(reject)
        out = []
        for raw_partition, group in sorted(by_partition.items()):
            lo, hi = spans.get(raw_partition, (0, 0))
            stream = stream_id(self.incarnation, raw_partition)
            placed = [(reject_position(reject.source), reject) for reject in group]
            if any(at is None for at, _ in placed):  # not expected: then the chunks claim nothing (at-least-once)
                log.warning("ingest: %d dead letter(s) without a source position", sum(at is None for at, _ in placed))
                encoded = encode_reject_messages(group)
                base = range_id(stream, lo, hi)
                out += [OutMessage(base if len(encoded) == 1 else f"{base}-d{n}", payload)
                        for n, payload in enumerate(encoded)]
                self.claims.claim(raw_partition, DLQ_CLAIMS, hi)
                continue
            unique: dict[int, Reject] = {}
            for at, reject in placed:  # one per position: a message read twice in one batch (re-fetched after a
                unique.setdefault(at, reject)  # rebalance) yields its rejects twice
            ordered = sorted(unique.items(), key=lambda item: item[0])
            encoded = encode_reject_messages([reject for _, reject in ordered])
            firsts, start = [], 0
            for payload in encoded:
                firsts.append(ordered[start][0])
                start += payload.count(b"\n") + 1  # one line per reject
            for k, payload in enumerate(encoded):
                chunk_lo = self.claims.lo(raw_partition, DLQ_CLAIMS, lo) if k == 0 else firsts[k]
                chunk_hi = firsts[k + 1] - 1 if k + 1 < len(encoded) else hi
                out.append(OutMessage(range_id(stream, chunk_lo, chunk_hi), payload))
            self.claims.claim(raw_partition, DLQ_CLAIMS, hi)
        return out

    def _merge(self, messages, parts: list[IngestOutput]) -> IngestOutput:
        merged = IngestOutput()
        for part in parts:
            merged.pseudonymized += part.pseudonymized
            merged.dlq += part.dlq
            merged.events_in += part.events_in
            merged.rows_out += part.rows_out
            merged.rejects += part.rejects
        return merged


_ENVELOPE_LEVEL = (ENVELOPE_NOT_JSON, ENVELOPE_TOO_LARGE, ENVELOPE_TOO_MANY_EVENTS)  # rejects that are no event


def _unparsed_place(reject: Reject, nth_unparsed: int) -> dict:
    """Where an envelope-level reject sits: the n-th unparsed part, or the whole message."""
    if reject.code in (ENVELOPE_TOO_LARGE, ENVELOPE_TOO_MANY_EVENTS):
        return {WHOLE_MESSAGE: True}
    return {UNPARSED: nth_unparsed}


def _place_rejects(messages: list[RawMessage], payloads: list[_Payload], valid, rejects: list[Reject]) -> None:
    """Add each validator reject's place in its message to its source (`pipeline.common.rejects`).

    A joined line is a one-event message: its event is the message's event 0. In an envelope, the validator
    judges events in order, so its event rejects take, in order, the event indices it did not accept; the
    envelope-level rejects (lines that are not JSON) are numbered as they come. A reject left without a place
    has no position and is dead-lettered at-least-once.
    """
    if not rejects:
        return
    number_of = {(m.partition, m.offset): n for n, m in enumerate(messages)}
    envelope_of = {p.messages[0]: k for k, p in enumerate(payloads) if p.lines is None}
    by_message: dict[int, list[Reject]] = defaultdict(list)
    for reject in rejects:
        number = number_of.get((reject.source.get("partition"), reject.source.get("offset")))
        if number is not None:
            by_message[number].append(reject)
    for number, group in by_message.items():
        payload = envelope_of.get(number)
        envelope_level = [r for r in group if r.code in _ENVELOPE_LEVEL]
        events = [r for r in group if r.code not in _ENVELOPE_LEVEL]
        for n, reject in enumerate(envelope_level):
            reject.source = {**reject.source, **_unparsed_place(reject, n)}
        if payload is None:
            indices = [0] * len(events)
        else:
            # payload_of is sorted (payloads in order; _origins relies on that too)
            start, stop = (0, 0) if valid.payload_of is None else \
                np.searchsorted(valid.payload_of, [payload, payload + 1])
            accepted = set(valid.index_in_payload[start:stop].tolist())
            indices = [i for i in range(len(accepted) + len(events)) if i not in accepted]
        if len(indices) != len(events):
            continue
        for reject, index in zip(events, indices):
            reject.source = {**reject.source, INDEX: index}


def _partition_spans(messages: list[RawMessage]) -> dict[int, tuple[int, int]]:
    """Raw partition → (first position, last position) the batch covers in it (messages sorted by position)."""
    firsts: dict[int, int] = {}
    lasts: dict[int, int] = {}
    for message in messages:
        firsts.setdefault(message.partition, message.offset)
        lasts[message.partition] = message.offset
    return {p: (position(firsts[p]), position(lasts[p], MAX_INDEX)) for p in firsts}
