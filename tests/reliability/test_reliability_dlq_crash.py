"""Issue 15 leftover: the worker is killed (-9) after the broker acknowledged a batch's outputs (its DLQ messages
among them) and before the batch's raw offsets were committed; the restarted worker reads that input again in
other batches, so its DLQ messages have other names than the first ones. Every bad event is still in the DLQ
folder exactly once, every valid one in the lake exactly once."""

from __future__ import annotations

import collections

import orjson
import pytest
from checks import publish_one_event_per_message, same_json
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import accounted, dlq_entries, lake_event_ids, wait_until

from pipeline.demo import start_worker, stop_process
from pipeline.generate import TelemetryGenerator

pytestmark = [pytest.mark.integration]
EVENTS = 6000


def test_a_kill_between_the_dlq_send_and_the_offset_commit_leaves_each_dead_letter_once(tmp_path, keyring_file):
    labelled = list(TelemetryGenerator(seed=41, end=GENERATED_UNTIL, hours=4).labelled_lines(EVENTS, 0.05))
    run = PipelineRun(tmp_path, keyring_file).start(workers=0)
    crashing = None
    try:
        crashing = start_worker(run.broker.bootstrap, run.data_dir, policy=run.policy, keyring=run.keyring,
                                partitions=run.partitions, worker_id="crash",
                                extra_env={"ANONPIPE_FAILPOINT": "ingest.before_commit:2"})
        publish_one_event_per_message(run.broker.bootstrap, [line for line, _ in labelled])
        wait_until(lambda: crashing.poll() is not None, 120, "the failpoint to kill the worker")
        assert crashing.returncode == -9
        proc = run.add_worker("after-crash", extra_args=("--ingest-batch-messages", "333"))
        wait_until(lambda: accounted(run, EVENTS), 180, "every event to be accounted for", [proc])
        # a replayed dead letter written twice would show up after the count was reached: wait until the DLQ
        # folder and the lake have stopped changing for a while
        seen: list[tuple[int, int]] = []

        def settled() -> bool:
            seen.append((len(dlq_entries(run.data_dir)), len(lake_event_ids(run.data_dir))))
            return len(seen) > 12 and seen[-1] == seen[-12]
        wait_until(settled, 120, "the DLQ folder and the lake to settle", [proc])
        restarted_log = proc.log_path.read_text(errors="replace")
    finally:
        stop_process(crashing)
        run.stop()
    ids = lake_event_ids(run.data_dir)
    assert [i for i, n in collections.Counter(ids).items() if n > 1] == []
    assert set(ids) == {orjson.loads(line)["event_id"] for line, bad in labelled if not bad}
    bad_lines = collections.Counter(same_json(line) for line, bad in labelled if bad)
    written = collections.Counter(same_json(entry["raw"]) for entry in dlq_entries(run.data_dir))
    assert written - bad_lines == collections.Counter(), "dead letters written more than once"
    assert written == bad_lines and sum(bad_lines.values()) > 200
    assert "Traceback" not in restarted_log
