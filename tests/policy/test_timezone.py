"""The policy's time zone: validated when the policy loads, and read the same way by Python and by DuckDB."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipeline.policy.loader import PolicyError, compile_policy, load_policy


def policy_with(**changes) -> dict:
    data = load_policy().policy.model_dump(exclude_none=True)
    data.update(changes)
    return data


def test_default_zone_is_almaty():
    assert load_policy().policy.timezone == "Asia/Almaty"


@pytest.mark.parametrize("name", ["UTC+5", "Asia/Astana", "almaty", ""])
def test_unknown_zone_is_one_clear_error(name):
    with pytest.raises(PolicyError, match="timezone: .*(unknown time zone|IANA)"):
        compile_policy(policy_with(timezone=name))


def test_kazakhstan_moved_to_utc_plus_5_on_2024_03_01():
    """tzdata ≥ 2024a: without it, every local day since March 2024 would be off by an hour."""
    almaty = ZoneInfo("Asia/Almaty")
    assert dt.datetime(2024, 2, 29, 12, tzinfo=almaty).utcoffset() == dt.timedelta(hours=6)
    assert dt.datetime(2024, 3, 1, 12, tzinfo=almaty).utcoffset() == dt.timedelta(hours=5)
    assert dt.datetime(2026, 12, 7, 12, tzinfo=almaty).utcoffset() == dt.timedelta(hours=5)


@pytest.mark.parametrize("zone", ["Asia/Almaty", "Asia/Qyzylorda", "Europe/Moscow", "America/New_York"])
def test_python_and_duckdb_agree_on_every_hour(zone):
    """Hourly instants over three years (across the 2024 change and DST zones): same local time from both."""
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    hours = 3 * 366 * 24
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    duck = con.execute(
        "SELECT strftime(timezone(?, TIMESTAMPTZ '2023-01-01 00:00:00+00' + INTERVAL (h) HOUR), '%Y-%m-%d %H %u') "
        "FROM range(?) t(h) ORDER BY h", [zone, hours]).fetchall()
    tz = ZoneInfo(zone)
    python = [(start + dt.timedelta(hours=h)).astimezone(tz).strftime("%Y-%m-%d %H %u") for h in range(hours)]
    assert [d for (d,) in duck] == python
