"""Issue 14 acceptance: every shareable number covers ≥ k PEOPLE, recounted by an independent people checker.

A generated run with every identity case (login mid-session, two devices, shared family tablets, web storage
cleared, private windows) goes through the real embedded broker and worker at k = 5 and k = 10. The checker links
people per window over the whole pseudonymized zone; with one stage partition that is exactly the release's
linkage scope (window × stage partition). With four partitions the release links per window and stage partition
(docs/kanon.md): test_end_to_end.py runs the same checker at that scope.
"""

from __future__ import annotations

import pytest
import yaml

from checks import read_zone
from harness import GENERATED_UNTIL, PipelineRun, make_keyring
from people_checker import check_release
from pipeline.generate import TelemetryGenerator
from pipeline.policy.loader import DEFAULT_POLICY_PATH

pytestmark = pytest.mark.integration


def policy_with_k(path, k: int):
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["kanon"]["k"] = k
    data["version"] = f"{data['version']}+k{k}"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_pipeline(root, k: int, partitions: int):
    keyring = root / "secrets" / "keyring.json"
    make_keyring(keyring)
    lines = list(TelemetryGenerator(seed=23, end=GENERATED_UNTIL, hours=4).lines(3000))
    run = PipelineRun(root, keyring, partitions=partitions, policy=policy_with_k(root / "policy.yaml", k))
    run.start(workers=1)
    try:
        run.publish(lines)
        run.wait_landed(len(lines))
        run.close_windows()
    finally:
        run.stop()
    return run


@pytest.mark.parametrize("k, partitions, scope", [
    (5, 1, ["window"]),  # one stage partition: the release links exactly what the checker links
    (10, 1, ["window"]),
])
def test_every_shareable_number_covers_k_people(tmp_path, k, partitions, scope):
    run = run_pipeline(tmp_path, k, partitions)
    events = read_zone(run.data_dir, "pseudonymized")
    aggregates = read_zone(run.data_dir, "aggregates")
    stats = read_zone(run.data_dir, "window_stats")
    assert len(aggregates) > 0 and events["user_pseudonym"].isna().any()
    assert check_release(events, aggregates, stats, k, partitions, scope) == []
