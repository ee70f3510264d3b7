"""collector_paused: the garbage collector is off inside and left as found afterwards, even on an exception."""

from __future__ import annotations

import gc

import pytest

from pipeline.validate.envelope import collector_paused


def test_paused_inside_and_restored():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception():
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
