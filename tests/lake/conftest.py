"""Fixtures for lake tests: a small data dir written through write_batch, and a CLI runner."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from .synthetic import build_lake, test_ring

DAYS = [dt.date(2025, 1, 30) + dt.timedelta(days=i) for i in range(4)]  # spans both test keys


@pytest.fixture
def ring():
    return test_ring()


@pytest.fixture
def data_dir(tmp_path, ring):
    path = tmp_path / "data"
    path.mkdir()
    build_lake(path, DAYS, ring=ring)
    return path


@pytest.fixture
def run():
    """Invoke a click command; returns the result (output has stdout and stderr mixed)."""
    runner = CliRunner()

    def invoke(command, args, **kwargs):
        return runner.invoke(command, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke


from .week_lake import week_lake  # noqa: E402,F401 - a generated week, built once per session for every test here
