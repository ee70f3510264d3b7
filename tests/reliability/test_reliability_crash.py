"""Issue 8.3 and 8.5: kill -9 and SIGTERM the worker while 30k events flow; after restarts every valid event is in
the lake exactly once and the k-anonymous aggregates equal those of an uninterrupted run on the same input and keys.

Scaled down from the issue's 100k events to 30k to keep the suite within its CI budget (same code paths: the
kills land mid-stream at several points, including during changelog recovery of the k-anonymity table).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import threading
import time

import orjson
import pandas as pd
import pytest

from checks import publish_one_event_per_message
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import (
    accounted,
    finish,
    reference_run,
    aggregates_sorted,
    count_lake_rows,
    crash_lines,
    kill9,
    lake_event_ids,
    temp_files,
    wait_until,
)

from pipeline.generate import TelemetryGenerator

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# The issue asks for 100k; CI runs 30k to stay inside its time budget. ANONPIPE_CRASH_EVENTS=100000 runs the full size.
EVENTS = int(os.environ.get("ANONPIPE_CRASH_EVENTS", "30000"))


@pytest.fixture(scope="module")
def labelled():
    return list(TelemetryGenerator(seed=21, end=GENERATED_UNTIL, hours=6).labelled_lines(EVENTS, 0.01))


@pytest.fixture(scope="module")
def keyring(tmp_path_factory):
    from harness import make_keyring
    path = tmp_path_factory.mktemp("crash-keys") / "keyring.json"
    make_keyring(path)
    return path


def publish_in_background(run: PipelineRun, lines: list[bytes], chunks: int = 10,
                          one_event: bool = False) -> threading.Thread:
    """Events keep arriving while the worker is killed and restarted (Tansu keeps them: only the worker dies);
    in envelopes (anonpipe publish), or one event per message from confluent-kafka (docs/producers.md)."""
    def publish():
        size = -(-len(lines) // chunks)
        for i in range(chunks):
            if one_event:
                publish_one_event_per_message(run.broker.bootstrap, lines[i * size:(i + 1) * size])
            else:
                run.publish(lines[i * size:(i + 1) * size])
            time.sleep(0.3)
    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    return thread


def ready_count(run: PipelineRun) -> int:
    return (run.data_dir / "logs" / "worker-w1.log").read_text(errors="replace").count("[^Worker]: Ready")


def run_with_interruptions(root, keyring, lines, interrupt, rng: random.Random, one_event: bool = False) -> PipelineRun:
    """Publish in the background; at three random points `interrupt` the worker and start a new one."""
    run = PipelineRun(root, keyring).start(workers=1)
    try:
        publisher = publish_in_background(run, lines, one_event=one_event)
        for fraction in sorted(rng.uniform(0.1, 0.9) for _ in range(3)):
            wait_until(lambda f=fraction: count_lake_rows(run.data_dir) >= f * len(lines) * 0.98, 120,
                       f"{fraction:.0%} of the events to land", run.workers[-1:])
            # interrupt a worker that is past start-up and processing (a SIGTERM during start-up: see the report)
            wait_until(lambda: ready_count(run) >= len(run.workers), 60, "the worker to be ready", run.workers[-1:])
            time.sleep(rng.uniform(0, 1.0))
            interrupt(run, run.workers[-1])
            before = count_lake_rows(run.data_dir)
            proc = run.add_worker("w1")
            wait_until(lambda b=before: count_lake_rows(run.data_dir) > b or accounted(run, len(lines)), 90,
                       "the restarted worker to make progress", [proc])
        publisher.join(timeout=120)
        finish(run, len(lines))
    finally:
        run.stop()
    return run


@pytest.fixture(scope="module")
def reference(tmp_path_factory, keyring, labelled):
    return reference_run(tmp_path_factory.mktemp("reference"), keyring, [line for line, _ in labelled])


def sigkill(run: PipelineRun, proc) -> None:
    kill9(proc)


def sigterm(run: PipelineRun, proc) -> None:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    took = time.monotonic() - started
    assert code == 0, f"worker exited with {code} on SIGTERM"
    assert took < 10, f"worker took {took:.1f}s to stop on SIGTERM"
    assert temp_files(run.data_dir) == []


@pytest.fixture(scope="module")
def killed(tmp_path_factory, keyring, labelled):
    return run_with_interruptions(tmp_path_factory.mktemp("killed"), keyring, [line for line, _ in labelled],
                                  sigkill, random.Random(1))


@pytest.fixture(scope="module")
def killed_one_event(tmp_path_factory, keyring, labelled):
    """Issue 15: the same kills while one-event messages flow (the ingest stage gathers them into batches, and each
    restart gathers other batches than the run before: exactly-once rests on source positions)."""
    return run_with_interruptions(tmp_path_factory.mktemp("killed-one-event"), keyring,
                                  [line for line, _ in labelled], sigkill, random.Random(3), one_event=True)


@pytest.fixture(scope="module")
def terminated(tmp_path_factory, keyring, labelled):
    return run_with_interruptions(tmp_path_factory.mktemp("terminated"), keyring, [line for line, _ in labelled],
                                  sigterm, random.Random(2))


def valid_ids(labelled) -> set[str]:
    return {orjson.loads(line)["event_id"] for line, bad in labelled if not bad}


def assert_exactly_once(run: PipelineRun, labelled) -> None:
    ids = lake_event_ids(run.data_dir)
    duplicates = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert duplicates == []
    assert set(ids) == valid_ids(labelled)


def assert_same_aggregates(run: PipelineRun, reference: PipelineRun) -> None:
    expected, actual = aggregates_sorted(reference.data_dir), aggregates_sorted(run.data_dir)
    assert len(expected) > 100
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_reference_run_is_complete(reference, labelled):
    assert_exactly_once(reference, labelled)


def test_kill_9_loses_nothing_and_duplicates_nothing(killed, labelled):
    assert_exactly_once(killed, labelled)


# Once lost ~1.8 % of the window counts (offsets committed before the changelog was durable); fixed, now unconditional.
def test_kill_9_gives_the_same_aggregates_as_an_uninterrupted_run(killed, reference):
    assert_same_aggregates(killed, reference)


def test_kill_9_with_one_event_messages_loses_nothing_and_duplicates_nothing(killed_one_event, labelled):
    assert_exactly_once(killed_one_event, labelled)


# Was xfail (passed 2 of 3 runs): windows released twice after a kill, the second time from a table that recovery
# rebuilt with fewer records, because faust committed offsets before buffered changelog writes had left the producer
# (pipeline/resilience/changelog_acks.py says how); now unconditional.
def test_kill_9_with_one_event_messages_gives_the_same_aggregates(killed_one_event, reference):
    assert_same_aggregates(killed_one_event, reference)


def test_sigterm_exits_cleanly_and_restart_completes_exactly_once(terminated, labelled, reference):
    assert_exactly_once(terminated, labelled)
    assert_same_aggregates(terminated, reference)
    assert crash_lines(terminated.logs()) == []
