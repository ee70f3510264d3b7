"""Issue 15: a replay of the raw topic from offset 0, after a rebalance, gathered into other batches than the first
pass, adds nothing: every valid event stays exactly once in the pseudonymized zone, every bad one exactly once in
the DLQ folder, the aggregates do not change, and no replayed event is counted late (events and dead letters are
recognised by source position, not by batch)."""

from __future__ import annotations

import collections
import urllib.request

import orjson
import pytest
from checks import publish_one_event_per_message, same_json
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import aggregates_sorted, dlq_entries, finish, lake_event_ids, lake_frame, wait_until

from pipeline.broker import free_port
from pipeline.demo import stop_process
from pipeline.generate import TelemetryGenerator

pytestmark = [pytest.mark.integration]
EVENTS = 6000


def metric(port: int, prefix: str) -> list[float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return []
    return [float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix)]


def as_text(entry: dict) -> bytes:
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def test_a_replay_from_offset_zero_after_a_rebalance_changes_nothing(tmp_path, keyring_file):
    labelled = list(TelemetryGenerator(seed=31, end=GENERATED_UNTIL, hours=4).labelled_lines(EVENTS, 0.02))
    lines = [line for line, _ in labelled]
    run = PipelineRun(tmp_path, keyring_file).start(workers=1)
    try:
        publish_one_event_per_message(run.broker.bootstrap, lines[: EVENTS // 2])
        run.add_worker("w2")  # a rebalance while events flow
        publish_one_event_per_message(run.broker.bootstrap, lines[EVENTS // 2:])
        finish(run, EVENTS)
        before = aggregates_sorted(run.data_dir)
        dead_letters_before = sorted(map(as_text, dlq_entries(run.data_dir)))
        for proc in run.workers:
            stop_process(proc)
        # The replay: an ingest-only worker has a consumer group of its own (pipeline/settings.py app_id_for), so it
        # reads the raw topic again from offset 0, in smaller batches than the first pass; a kanon+lake worker
        # carries on with the first workers' group, k-anonymity state and lake.
        port, stages_port = free_port(), free_port()
        ingest = run.add_worker("replay", extra_args=("--stages", "ingest", "--metrics-port", str(port),
                                                      "--ingest-batch-messages", "333"))
        proc = run.add_worker("w3", extra_args=("--stages", "kanon,lake", "--metrics-port", str(stages_port)))
        wait_until(lambda: sum(metric(port, 'anonpipe_events_in_total{stage="ingest"}')) >= EVENTS, 180,
                   "the replay to be ingested", [ingest, proc])
        # the replayed batches went through the k-anonymity stage and the sinks: wait until the k-anonymity stage
        # has taken batches and then stayed idle for a while (its batch count stops growing; the sinks flush in 2 s)
        kanon_batches = 'anonpipe_batch_seconds_count{stage="kanon"}'
        seen: list[float] = []

        def settled() -> bool:
            seen.append(sum(metric(stages_port, kanon_batches)))
            return len(seen) > 16 and seen[-1] > 0 and seen[-1] == seen[-16]
        wait_until(settled, 180, "the k-anonymity stage and the sinks to take the replay", [proc])
    finally:
        run.stop()
    ids = lake_event_ids(run.data_dir)
    assert [i for i, n in collections.Counter(ids).items() if n > 1] == []
    assert set(ids) == {orjson.loads(line)["event_id"] for line, bad in labelled if not bad}
    assert aggregates_sorted(run.data_dir).equals(before)
    assert int(lake_frame(run.data_dir, "window_stats")["late_events"].sum()) == 0
    # the replay sent the same dead letters again, in DLQ messages named after its own batches: none was written
    dead_letters = dlq_entries(run.data_dir)
    assert sorted(map(as_text, dead_letters)) == dead_letters_before
    bad_lines = collections.Counter(same_json(line) for line, bad in labelled if bad)
    assert collections.Counter(same_json(entry["raw"]) for entry in dead_letters) == bad_lines
    assert sum(bad_lines.values()) > 50
