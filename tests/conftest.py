"""Shared fixtures. Test code that is not a test is named by one rule:

- tests/harness.py: what every folder uses (key rings on disk, a real pipeline run);
- <folder>/<folder>_support.py: helpers of one folder (lake_support, operators_support, reliability_support);
- data and independent oracles are named for what they are (corpus.py, synthetic.py, checks.py, *_checker.py,
  deploy_contract.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))

from harness import PipelineRun, make_keyring  # noqa: E402


@pytest.fixture(scope="module")
def policy():
    """The default policy (a test module that needs another defines its own `policy`)."""
    from pipeline.policy.loader import load_policy
    return load_policy()


@pytest.fixture(scope="module")
def ring(policy):
    """An in-memory key ring for `policy`, covering the generator's default time range."""
    from harness import GENERATED_UNTIL

    from pipeline.keys.ring import ephemeral_ring
    return ephemeral_ring(policy.policy.keys.rotation, GENERATED_UNTIL)


@pytest.fixture
def keyring_file(tmp_path) -> Path:
    path = tmp_path / "secrets" / "keyring.json"
    make_keyring(path)
    return path


@pytest.fixture
def pipeline_run(tmp_path, keyring_file):
    runs: list[PipelineRun] = []

    def make(**options) -> PipelineRun:
        run = PipelineRun(tmp_path / f"run{len(runs)}", keyring_file, **options)
        runs.append(run)
        return run
    yield make
    for run in runs:
        run.stop()


@pytest.fixture
def s3_url(monkeypatch):
    """An S3 lake URL served on loopback by moto (a dev dependency), with an empty bucket `lake`."""
    import urllib.request

    moto_server = pytest.importorskip("moto.server")
    import boto3

    from pipeline.broker import free_port
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its buckets in process-wide state shared by every server: start from an empty store, not from
    # the objects an earlier test left in the same bucket
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")).close()
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1").create_bucket(Bucket="lake")
    yield f"s3://lake/anonpipe?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    server.stop()
