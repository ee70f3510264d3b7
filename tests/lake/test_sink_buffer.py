"""The sink buffer: full and due at the right moments, each event taken once, failed writes kept in order."""

from __future__ import annotations

import pyarrow as pa

from pipeline.lake.rollover import SinkMessage
from pipeline.lake.sink_buffer import SinkBuffer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _message(i: int) -> SinkMessage:
    return SinkMessage(f"r000-{i}-q0", pa.table({"x": [i]}))


def test_due_when_full_or_when_the_oldest_message_waited_long_enough():
    clock = Clock()
    buffer = SinkBuffer(max_messages=3, max_seconds=2.0, clock=clock)
    assert not buffer.due()
    buffer.add("e0", _message(0))
    clock.now += 1.9
    buffer.add("e1", _message(1))
    assert not buffer.due() and not buffer.full()
    clock.now += 0.1  # the first message's age counts, not the last one's
    assert buffer.due()
    buffer.add("e2", _message(2))
    assert buffer.full()


def test_control_events_are_acknowledged_with_the_rows_but_do_not_fill_the_buffer():
    buffer = SinkBuffer(max_messages=2, max_seconds=5.0, clock=Clock())
    buffer.add("control", None)
    buffer.add("e1", _message(1))
    assert not buffer.full()
    events, messages = buffer.take()
    assert events == ["control", "e1"] and [m.batch_id for m in messages] == ["r000-1-q0"]
    assert buffer.take() == ([], []) and not buffer.due()


def test_a_failed_write_puts_the_events_back_in_front_and_due_at_once():
    clock = Clock()
    buffer = SinkBuffer(max_messages=10, max_seconds=60.0, clock=clock)
    buffer.add("e0", _message(0))
    events, messages = buffer.take()
    buffer.add("e1", _message(1))  # arrived while the failed write ran
    buffer.put_back(events, messages)
    assert buffer.due()
    events, messages = buffer.take()
    assert events == ["e0", "e1"] and [m.batch_id for m in messages] == ["r000-0-q0", "r000-1-q0"]


def test_full_by_rows_as_well_as_by_messages():
    buffer = SinkBuffer(max_messages=100, max_seconds=60.0, max_rows=5, clock=Clock())
    big = SinkMessage("r000-9-q0", pa.table({"x": list(range(3))}))
    buffer.add("e0", big)
    assert not buffer.full()
    buffer.add("e1", SinkMessage("r000-10-q0", pa.table({"x": [1, 2]})))
    assert buffer.full()
    events, messages = buffer.take()
    assert buffer.rows == 0 and not buffer.full()
    buffer.put_back(events, messages)
    assert buffer.rows == 5 and buffer.full()
