"""The column-wise joining of one-event messages (BatchIngest._joined_payloads) gives exactly the envelopes the
per-message loop gives, or leaves the batch to that loop."""

from __future__ import annotations

from dataclasses import astuple
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.pseudonymize import batch as batch_module
from pipeline.pseudonymize.batch import BatchIngest, RawMessage

# Values near the edges of "one event on one line": braces, spaces, line breaks inside and around, empty.
_PIECES = [b"{", b"}", b"\n", b"\r", b" ", b"\t", b'"a":1', b",", b"x", b"[", b"]", b"\xd0\xb9"]
one_line = st.lists(st.sampled_from([b'"a":1', b'"b":"\xd0\xb9"', b" ", b","]), max_size=4).map(
    lambda p: b"{" + b"".join(p) + b"}")
# Braces outside, a line break (or a lone carriage return) inside: not one line.
braced = st.lists(st.sampled_from([b'"a":1', b"\r", b"\n", b" "]), min_size=1, max_size=3).map(
    lambda p: b"{" + b"".join(p) + b"}")
any_value = st.one_of(st.lists(st.sampled_from(_PIECES), max_size=6).map(b"".join), one_line)
partition = st.integers(0, 2)
# Batches of one-line events (the joined path's own case), a few with braced lines that are not one line, or
# anything.
batches = st.one_of(st.lists(st.tuples(one_line, partition), min_size=1, max_size=30),
                    st.lists(st.tuples(st.one_of(one_line, braced), partition), min_size=1, max_size=4),
                    st.lists(st.tuples(any_value, partition), min_size=1, max_size=30))


def _runner() -> BatchIngest:
    runner = BatchIngest.__new__(BatchIngest)  # only the topic is read while joining
    runner.topic = "telemetry.raw"
    return runner


def _messages(draw_values: list[bytes], partitions: list[int]) -> list[RawMessage]:
    offsets: dict[int, int] = {}
    messages = []
    for value, partition in sorted(zip(draw_values, partitions), key=lambda vp: vp[1]):
        messages.append(RawMessage(partition, offsets.setdefault(partition, 0), value))
        offsets[partition] += 1
    return messages


@settings(max_examples=400, deadline=None)
@given(batches, st.integers(1, 8), st.integers(1, 64))
def test_joined_payloads_equal_the_per_message_loop(drawn, max_events, max_bytes):
    messages = _messages([v for v, _ in drawn], [p for _, p in drawn])
    runner = _runner()
    with mock.patch.object(batch_module, "JOINED_MAX_EVENTS", max_events), \
            mock.patch.object(batch_module, "JOINED_MAX_BYTES", max_bytes):
        fast = runner._joined_payloads(messages)
        reference = runner._payloads_one_by_one(messages)
    if fast is not None:
        assert [astuple(p) for p in fast] == [astuple(p) for p in reference]


def test_one_event_messages_take_the_joined_path():
    lines = [b'{"event_id":"%d"}' % i for i in range(300)]
    messages = _messages(lines, [i % 3 for i in range(300)])
    runner = _runner()
    fast = runner._joined_payloads(messages)
    assert fast is not None and len(fast) == 3
    assert [astuple(p) for p in fast] == [astuple(p) for p in runner._payloads_one_by_one(messages)]
    # any message that is not one line (here one with surrounding spaces) leaves the batch to the loop
    assert runner._joined_payloads(messages[:5] + [RawMessage(2, 999, b" {} ")]) is None
