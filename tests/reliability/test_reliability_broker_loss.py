"""Issue 8.4b: the embedded broker dies mid-run and a fresh, EMPTY one takes its port; the worker keeps running,
and after the same input is re-published nothing already in the lake is lost and every event is there once.

What cannot be guaranteed (measured here, explained in docs/reliability.md): the k-anonymity table's changelog
died with the broker, so aggregates of windows open at the time are incomplete; the surviving worker keeps its
in-memory fetch positions and drops sends that failed during the outage, so whether IT completes the job is
timing-dependent (observed both ways). The guarantee tested: a worker started after the loss completes the
re-published input and nothing landed before is lost. A fresh broker is a new incarnation of the raw topic
(issue 15: a new topic is not an old one), so its events are new events even when their bytes repeat earlier
ones: the only events the lake may hold twice are those that had landed before the loss and were published again.
"""

from __future__ import annotations

import collections
import subprocess
import time

import pytest
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import (
    count_lake_rows,
    crash_lines,
    kill9,
    lake_event_ids,
    wait_until,
)

from pipeline.broker import EmbeddedBroker
from pipeline.generate import TelemetryGenerator
from pipeline.topics import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EVENTS = 12_000
OUTAGE_S = 5.0
MEASURED: dict[str, object] = {}


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory):
    from harness import make_keyring
    root = tmp_path_factory.mktemp("broker-loss")
    keyring = root / "secrets" / "keyring.json"
    make_keyring(keyring)
    lines = list(TelemetryGenerator(31, end=GENERATED_UNTIL, hours=6).lines(EVENTS))
    run = PipelineRun(root, keyring).start(workers=1)
    try:
        first, second = lines[: EVENTS // 2], lines[EVENTS // 2:]
        run.publish(first)
        wait_until(lambda: count_lake_rows(run.data_dir) >= EVENTS // 12, 60, "some events", run.workers, poll=0.1)
        port, log = run.broker.port, run.data_dir / "logs" / "worker-w1.log"
        log_size = log.stat().st_size
        run.broker.process.kill()  # the broker dies mid-stream, with everything it held
        run.broker.process.wait()
        run.broker.process = None
        run.before_outage = set(lake_event_ids(run.data_dir))
        MEASURED["landed_before_outage"] = len(run.before_outage)
        time.sleep(OUTAGE_S)
        run.alive_during_outage = run.workers[0].poll() is None
        outage_text = log.read_text(errors="replace")[log_size:]
        MEASURED["error_lines_during_outage"] = sum(" ERROR " in line for line in outage_text.splitlines())
        run.broker = EmbeddedBroker(port=port, log_path=root / "broker-2.log").start()
        ensure_topics(run.broker.bootstrap, run.partitions)
        back = time.monotonic()
        run.publish(first)  # identical input, a new topic incarnation: new events
        run.publish(second)
        # Phase 1 (observed, not promised): does the worker that lived through the loss finish the job?
        try:
            wait_until(lambda: len(set(lake_event_ids(run.data_dir))) >= EVENTS, 15, "all events", run.workers)
            MEASURED["surviving_worker_completed_s"] = round(time.monotonic() - back, 1)
        except AssertionError:
            MEASURED["surviving_worker_missing_events"] = EVENTS - len(set(lake_event_ids(run.data_dir)))
        # the worker notices the new broker lost its state (re-created topics) and stops itself with exit code 3
        try:
            run.exit_after = run.workers[0].wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.exit_after = None
        # Phase 2 (the guarantee): its consumer group state now lives on the new broker, so the documented
        # recovery is to stop the worker, replace the broker's (lost) state once more, re-publish, start anew.
        # (SIGTERM while the broker is down: test_reliability_broker_outage.py)
        run.broker.process.kill()
        run.broker.process.wait()
        run.broker.process = None
        if run.workers[0].poll() is None:
            kill9(run.workers[0])
        run.broker = EmbeddedBroker(port=port, log_path=root / "broker-3.log").start()
        ensure_topics(run.broker.bootstrap, run.partitions)
        run.publish(first)
        run.publish(second)
        restarted = time.monotonic()
        run.add_worker("w2")
        wait_until(lambda: len(set(lake_event_ids(run.data_dir))) >= EVENTS, 90,
                   "a restarted worker to land every event", run.workers[-1:])
        MEASURED["restarted_worker_completed_s"] = round(time.monotonic() - restarted, 1)
    finally:
        run.stop()
        print("\nbroker-loss measurements:", MEASURED)
    run.lines = lines
    return run


def test_worker_survives_a_broker_outage_and_stops_cleanly_when_the_broker_lost_its_state(outage_run):
    assert outage_run.alive_during_outage
    assert outage_run.exit_after == 3
    log = outage_run.logs()
    assert sum("came back without this worker's state" in line for line in log.splitlines()) == 1
    assert [line for line in crash_lines(log) if "Crashed" in line] == []


def test_nothing_acknowledged_before_the_outage_is_lost(outage_run):
    # the loss hits mid-run: some events landed, the second half is not even published yet (a buffered sink may
    # land the whole first half between two polls)
    assert EVENTS // 12 <= len(outage_run.before_outage) <= EVENTS // 2
    assert outage_run.before_outage <= set(lake_event_ids(outage_run.data_dir))


def test_every_event_is_in_the_lake_and_only_events_published_twice_appear_twice(outage_run):
    ids = lake_event_ids(outage_run.data_dir)
    counts = collections.Counter(ids)
    # Three brokers carried the input (the lost one, the one the surviving worker read, the last one): each is a
    # new incarnation of the raw topic, so what was published again is kept as the new events it is, never
    # dropped as "already written"; within one incarnation every event lands once.
    assert len(counts) == EVENTS and max(counts.values()) <= 3
