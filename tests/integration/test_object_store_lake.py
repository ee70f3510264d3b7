"""Issue 9: the worker writes the lake to an object store through pyarrow's filesystem layer (S3 protocol,
served on loopback by moto), while the restricted DLQ stays on local disk."""

from __future__ import annotations

import time

import orjson
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from harness import GENERATED_UNTIL, PipelineRun
from pipeline.generate import TelemetryGenerator

pytestmark = pytest.mark.integration
def test_lake_zones_land_in_the_object_store(tmp_path, keyring_file, s3_url):
    url = s3_url
    labelled = list(TelemetryGenerator(seed=8, end=GENERATED_UNTIL, hours=2).labelled_lines(1500, 0.02))
    lines = [line for line, _ in labelled]
    valid_ids = {orjson.loads(line)["event_id"] for line, bad in labelled if not bad}
    filesystem, root = pafs.FileSystem.from_uri(url)
    run = PipelineRun(tmp_path, keyring_file)

    def landed() -> int:
        try:
            return ds.dataset(f"{root}/lake/pseudonymized", filesystem=filesystem, partitioning="hive").count_rows()
        except (FileNotFoundError, OSError):
            return 0
    try:
        run.start(workers=0)
        run.add_worker("s3", extra_args=("--lake-url", url))
        run.publish(lines)
        deadline = time.monotonic() + 90
        while landed() < len(valid_ids) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        run.stop()
    events = ds.dataset(f"{root}/lake/pseudonymized", filesystem=filesystem, partitioning="hive").to_table()
    assert sorted(events.column("event_id").to_pylist()) == sorted(valid_ids)
    assert not (run.data_dir / "lake" / "pseudonymized").exists()  # nothing went to local disk
    assert list((run.data_dir / "dlq").rglob("*.ndjson"))  # the restricted DLQ stays local
