"""Issue 8.1: ≥10k hostile events mixed with valid ones through the real broker and worker: every bad one is
dead-lettered with a machine-readable code, every valid one lands exactly once, the worker neither crashes nor stalls."""

from __future__ import annotations

import collections
import stat

import pytest
from corpus import build_corpus, markers_in, merge
from harness import GENERATED_UNTIL, PipelineRun
from reliability_support import (
    count_lake_rows,
    crash_lines,
    dlq_entries,
    lake_event_ids,
    lake_frame,
    publish_envelopes,
    raw_bytes,
    wait_until,
)

pytestmark = pytest.mark.integration
KNOWN_CODES = {"envelope_not_json", "envelope_too_large", "envelope_too_many_events", "event_not_object",
               "schema_violation", "bad_timestamp", "time_out_of_range", "invalid_ip", "invalid_value",
               "no_key_for_event_time"}


@pytest.fixture(scope="module")
def corpus():
    main = build_corpus(seed=8, end=GENERATED_UNTIL, valid=2000, bad=10_000, envelopes=20)
    # 600 valid events with maximum-length text in one 3 MB envelope (bigger ones: test_reliability_big_batches.py)
    long_texts = build_corpus(seed=10, end=GENERATED_UNTIL, valid=600, bad=0, envelopes=1,
                              oversize_envelope=False, long_text=3990)
    return merge(main, long_texts)


@pytest.fixture(scope="module")
def hostile_run(corpus, tmp_path_factory):
    from harness import make_keyring
    root = tmp_path_factory.mktemp("hostile")
    keyring = root / "secrets" / "keyring.json"
    make_keyring(keyring)
    run = PipelineRun(root, keyring).start(workers=1)
    try:
        publish_envelopes(run.broker.bootstrap, corpus.envelopes, partitions=run.partitions)
        expected = len(corpus.valid_ids) + len(corpus.bad)
        wait_until(lambda: count_lake_rows(run.data_dir) + len(dlq_entries(run.data_dir)) >= expected, 90,
                   "every hostile and valid event to be accounted for", run.workers)
        # The worker must still be responsive after the corpus: one more valid envelope goes straight through.
        probe = build_corpus(seed=99, end=GENERATED_UNTIL, valid=30, bad=0, envelopes=1, oversize_envelope=False)
        publish_envelopes(run.broker.bootstrap, probe.envelopes, partitions=run.partitions)
        wait_until(lambda: set(probe.valid_ids) <= set(lake_event_ids(run.data_dir)), 30,
                   "a valid envelope published after the corpus to land", run.workers)
        run.probe_ids = probe.valid_ids
        run.alive_after = [w.poll() is None for w in run.workers]
    finally:
        run.stop()
    return run


def test_corpus_is_big_and_varied(corpus):
    assert len(corpus.bad) >= 10_000
    kinds = collections.Counter(b.kind for b in corpus.bad)
    assert len(kinds) >= 20 and min(kinds.values()) >= 1
    assert len(corpus.envelopes) <= 25
    assert max(len(e) for e in corpus.envelopes) > 8 * 1024 * 1024  # one envelope beyond the size limit
    assert len({b.marker for b in corpus.bad}) == len(corpus.bad)


def test_worker_survives_and_stays_responsive(hostile_run):
    assert hostile_run.alive_after == [True]
    assert crash_lines(hostile_run.logs()) == []


def test_every_valid_event_lands_exactly_once(hostile_run, corpus):
    ids = lake_event_ids(hostile_run.data_dir)
    counts = collections.Counter(ids)
    assert [i for i, n in counts.items() if n > 1] == []
    assert set(ids) == set(corpus.valid_ids) | set(hostile_run.probe_ids)


def test_hostile_looking_valid_events_are_processed(hostile_run, corpus):
    assert len(corpus.hostile_valid_ids) >= 100
    assert set(corpus.hostile_valid_ids) <= set(lake_event_ids(hostile_run.data_dir))


def test_every_bad_event_is_dead_lettered_once_with_a_fitting_code(hostile_run, corpus):
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for entry in dlq_entries(hostile_run.data_dir):
        assert entry["code"] in KNOWN_CODES and entry["reason"]
        for marker in set(markers_in(raw_bytes(entry))):
            seen[marker].append(entry["code"])
    wrong = collections.Counter()
    for bad in corpus.bad:
        codes = seen.get(bad.marker, [])
        if len(codes) != 1 or codes[0] not in bad.codes:
            wrong[(bad.kind, tuple(codes))] += 1
    assert not wrong, f"bad events not dead-lettered exactly once with a fitting code: {wrong.most_common(10)}"
    assert set(seen) == {b.marker for b in corpus.bad}


def test_unknown_fields_are_dropped_not_rejected(hostile_run, corpus):
    frame = lake_frame(hostile_run.data_dir, "pseudonymized")
    blob = frame.astype(str).to_csv(index=False)
    assert corpus.unknown_field_values
    assert [v for v in corpus.unknown_field_values if v in blob or v.lower() in blob] == []
    assert not {"unknown_field", "nested_unknown", "email"} & set(frame.columns)


def test_dlq_files_are_owner_only(hostile_run):
    root = hostile_run.data_dir / "dlq"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = list(root.rglob("*.ndjson"))
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
