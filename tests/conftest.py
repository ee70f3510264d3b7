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
