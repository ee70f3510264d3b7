"""A k-anonymity table write must be in its changelog before the input that caused it is committed.

faust's flush before a commit returns after 0.1 s with writes still buffered (pipeline/resilience/changelog_acks.py).
Here the changelog is made slow on purpose (each write waits 0.3 s on its way to the Kafka client,
`ANONPIPE_SLOW_CHANGELOG`), the worker is killed with SIGKILL the moment it has committed offsets of the
pseudonymized topic, and a worker without the delay finishes the run. Whatever the commit covered must be in the
recovered table: the aggregates equal an uninterrupted run's. (Without the agent waiting for its writes, the first
commit already covered batches whose writes were still queued: their counts were lost.)"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import aggregates_sorted, finish, kill9, reference_run, wait_until

from pipeline.generate import TelemetryGenerator
from pipeline.settings import APP_ID, TOPIC_PSEUDONYMIZED

pytestmark = pytest.mark.integration  # ~45 s: in `make test`, the deterministic check of the kill -9 aggregates fix
EVENTS = 4000


def committed_offsets(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets on `topic` (what the broker holds, read as any admin tool would)."""
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="changelog-test")
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


@pytest.fixture(scope="module")
def lines():
    return list(TelemetryGenerator(seed=5, end=GENERATED_UNTIL, hours=2).lines(EVENTS))


@pytest.fixture(scope="module")
def keyring(tmp_path_factory):
    from harness import make_keyring
    path = tmp_path_factory.mktemp("changelog-keys") / "keyring.json"
    make_keyring(path)
    return path


def test_kill_at_the_first_commit_with_a_slow_changelog_keeps_every_count(tmp_path, monkeypatch, keyring, lines):
    reference = reference_run(tmp_path / "reference", keyring, lines)
    run = PipelineRun(tmp_path / "killed", keyring)
    monkeypatch.setenv("ANONPIPE_SLOW_CHANGELOG", "0.3")
    run.start(workers=1)
    try:
        run.publish(lines)
        wait_until(lambda: committed_offsets(run.broker.bootstrap, APP_ID, TOPIC_PSEUDONYMIZED) > 0, 120,
                   "a commit of the pseudonymized topic", run.workers, poll=0.05)
        kill9(run.workers[-1])
        monkeypatch.delenv("ANONPIPE_SLOW_CHANGELOG")
        time.sleep(1)
        run.add_worker("w2")
        finish(run, len(lines))
    finally:
        run.stop()
    expected, actual = aggregates_sorted(reference.data_dir), aggregates_sorted(run.data_dir)
    assert len(expected) > 20
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
