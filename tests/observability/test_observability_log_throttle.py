"""Bursts of identical client-library warnings collapse into one line plus a count; our own lines always pass."""

from __future__ import annotations

import logging

from pipeline.observability.log_throttle import RepeatCollapsingFilter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, level: int = logging.ERROR, args=()) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_identical_templates_collapse_then_report_the_count():
    clock = FakeClock()
    throttle = RepeatCollapsingFilter(window=60, clock=clock)
    passed = [throttle.filter(record("aiokafka.conn", "Unable connect to node %s", args=(i,))) for i in range(800)]
    assert passed.count(True) == 1
    clock.now = 61
    later = record("aiokafka.conn", "Unable connect to node %s", args=(1,))
    assert throttle.filter(later)
    assert "799 similar lines suppressed" in later.getMessage()


def test_our_lines_and_info_lines_are_never_dropped():
    throttle = RepeatCollapsingFilter(window=60, clock=FakeClock())
    assert all(throttle.filter(record("pipeline.kanon.agent", "released window")) for _ in range(50))
    assert all(throttle.filter(record("aiokafka.consumer", "joined", level=logging.INFO)) for _ in range(50))


def test_different_templates_are_kept_apart():
    throttle = RepeatCollapsingFilter(window=60, clock=FakeClock())
    assert throttle.filter(record("kafka.net", "connection refused"))
    assert throttle.filter(record("kafka.net", "metadata refresh failed"))
    assert not throttle.filter(record("kafka.net", "connection refused"))


def test_numbers_formatted_into_the_message_do_not_split_a_burst():
    # faust logs f"producer buffer full size {n}" every 0.1 s while the broker is frozen
    throttle = RepeatCollapsingFilter(window=60, clock=FakeClock())
    passed = [throttle.filter(record("faust.transport.producer", f"producer buffer full size {100 + i}",
                                     level=logging.WARNING)) for i in range(50)]
    assert passed.count(True) == 1
