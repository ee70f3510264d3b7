"""Issue 8.1, big envelopes: an accepted envelope (< 8 MiB) whose DLQ or pseudonymized batch exceeds 1 MB must not stall."""

from __future__ import annotations

import collections

import pytest
from corpus import build_corpus, markers_in, merge
from harness import GENERATED_UNTIL, PipelineRun, make_keyring
from reliability_support import (
    crash_lines,
    dlq_entries,
    lake_event_ids,
    publish_envelopes,
    raw_bytes,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_envelope_with_more_than_a_megabyte_of_output_neither_crashes_nor_stalls(tmp_path):
    many_rejects = build_corpus(seed=9, end=GENERATED_UNTIL, valid=20, bad=3000, envelopes=1,
                                oversize_envelope=False, first_marker=500_000)
    long_texts = build_corpus(seed=10, end=GENERATED_UNTIL, valid=1200, bad=0, envelopes=1,
                              oversize_envelope=False, long_text=3990)
    after = build_corpus(seed=11, end=GENERATED_UNTIL, valid=40, bad=0, envelopes=1, oversize_envelope=False)
    corpus = merge(many_rejects, long_texts)
    assert all(len(e) < 8 * 1024 * 1024 for e in corpus.envelopes)  # all accepted by the envelope size limit
    keyring = tmp_path / "secrets" / "keyring.json"
    make_keyring(keyring)
    run = PipelineRun(tmp_path, keyring).start(workers=1)
    try:
        # Same partition for everything: what comes after a big envelope must still be processed.
        publish_envelopes(run.broker.bootstrap, corpus.envelopes, partitions=1)
        publish_envelopes(run.broker.bootstrap, after.envelopes, partitions=1)
        want = set(corpus.valid_ids) | set(after.valid_ids)
        wait_until(lambda: want <= set(lake_event_ids(run.data_dir)), 25, "every valid event to land", run.workers)
        seen = collections.Counter(m for e in dlq_entries(run.data_dir) for m in set(markers_in(raw_bytes(e))))
        assert set(seen) == {b.marker for b in corpus.bad} and set(seen.values()) == {1}
        assert crash_lines(run.logs()) == []
    finally:
        run.stop()
