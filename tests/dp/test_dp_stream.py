"""The DP release in the running pipeline (real embedded broker, worker process): noisy rows with intervals, a
ledger within the period's budget, and refusals once it is spent - read back from the lake, not from the code."""

from __future__ import annotations

import datetime as dt
import zlib

import orjson
import pytest
import yaml

from harness import GENERATED_UNTIL
from pipeline.demo import send_watermark, wait_for
from pipeline.dp.ledger import read_ledger
from pipeline.dp.progress import windows_released
from pipeline.generate import TelemetryGenerator
from pipeline.lake.counts import AGGREGATES, WINDOW_STATS, read_zone
from pipeline.policy.loader import DEFAULT_POLICY_PATH, load_policy

EPSILON, PERIOD_CAP, PARTITIONS = 1.0, 3.0, 4


@pytest.fixture
def dp_policy(tmp_path):
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["kanon"]["release"] = "dp"
    data["kanon"]["dp"] = {"epsilon_per_window": EPSILON, "epsilon_per_period": PERIOD_CAP}
    data["version"] = "test-dp"
    path = tmp_path / "dp-policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _hour(line: bytes) -> int:
    occurred = dt.datetime.fromisoformat(orjson.loads(line)["occurred_at"])
    return int(occurred.timestamp() * 1000) // 3_600_000 * 3_600_000


def test_dp_release_through_the_broker_spends_within_the_period_and_then_stops(pipeline_run, dp_policy):
    run = pipeline_run(policy=dp_policy).start()
    lines = list(TelemetryGenerator(3, end=GENERATED_UNTIL, hours=6).lines(3000))
    gap = _hour(lines[len(lines) // 2])  # no events at all in this hour: it must be released all the same
    lines = [line for line in lines if _hour(line) != gap]
    run.publish(lines)
    run.wait_landed(len(lines))
    send_watermark(run.broker.bootstrap, int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650))
                                             .timestamp() * 1000))
    config = load_policy(dp_policy).policy.kanon
    wait_for(lambda: windows_released(run.data_dir, config, PARTITIONS), 120, "DP windows to be released")

    aggregates = read_zone(run.data_dir, AGGREGATES).to_pandas()
    assert len(aggregates) and set(aggregates["release"]) == {"dp"}
    assert aggregates["events_ci95"].notna().all() and (aggregates["events_ci95"] > 0).all()
    # every public cell of a released (window, partition) is published, noisy values unclamped: per routed event
    # type, one row per (os_family, device_class) of the policy's lists plus 'other' - whatever the data held
    domain = config.dp.domain
    per_type = (len(domain["os_family"].values) + 1) * (len(domain["device_class"].values) + 1)
    listed = aggregates[aggregates.event_type != "other"]
    for (window, event_type), group in listed.groupby([listed.window_start.astype("int64"), "event_type"]):
        assert len(group) == per_type, (window, event_type)

    ledger = read_ledger(run.data_dir).to_pandas()
    released = ledger[ledger.status == "released"]
    # every partition stays within its share of the period's budget; the whole run within the period's cap
    owners = sorted({zlib.crc32(v.encode()) % PARTITIONS for v in config.dp.domain["event_type"].values})
    assert set(ledger.partition) == set(owners)  # a partition owning no public event type publishes nothing
    per_partition = released.groupby(["period", "partition"]).epsilon.sum()
    assert (per_partition <= PERIOD_CAP / len(owners) + 1e-9).all()
    assert (released.groupby("period").epsilon.sum() <= PERIOD_CAP + 1e-9).all()
    assert set(released.mechanism) == {"discrete_laplace"}
    # every hour from a partition's first window on has a release or a refusal, the empty hour included
    spans_gap = 0
    for partition, rows in ledger.groupby("partition"):
        hours = sorted(set(rows.window_start.astype("int64")))
        assert hours == list(range(hours[0], hours[-1] + 1, 3_600_000)), partition
        spans_gap += hours[0] < gap < hours[-1]
    assert spans_gap  # the empty hour lies inside some partition's released range (and so was released)
    # 6 hourly windows per partition at ε/3 each against a cap of 3/3: three go out, the rest are refused
    refused = ledger[ledger.status == "refused"]
    assert len(refused) and refused.reason.str.contains("period budget spent").all()
    assert "period budget spent" in run.logs()
    # nothing of a refused (window, partition) reached the lake: recompute the routing independently
    routed = aggregates.assign(window=aggregates.window_start.astype("int64"),
                               partition=[zlib.crc32(v.encode()) % PARTITIONS for v in aggregates.event_type])
    published = set(zip(routed.window, routed.partition))
    refused_pairs = set(zip(refused.window_start.astype("int64"), refused.partition))
    assert not published & refused_pairs
