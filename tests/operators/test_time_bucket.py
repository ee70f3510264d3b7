"""`time_bucket` truncates the validator's parsed event time (UTC) to the configured granularity."""

import datetime as dt

import pytest
from operators_support import run

UTC = dt.UTC
MOMENT = dt.datetime(2026, 11, 15, 13, 47, 31, 250000, tzinfo=UTC)


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize("granularity, expected", [
    ("minute", MOMENT.replace(second=0, microsecond=0)),                  # seconds dropped
    ("15min", MOMENT.replace(minute=45, second=0, microsecond=0)),        # quarter hour floor
    ("hour", MOMENT.replace(minute=0, second=0, microsecond=0)),          # default granularity
    ("day", MOMENT.replace(hour=0, minute=0, second=0, microsecond=0)),   # UTC midnight, not local
])
def test_bucket_floors_event_time(granularity, expected):
    result = run("time_bucket", ["ignored raw string"], params={"granularity": granularity},
                 times=[ms(MOMENT)], output="bucket")
    assert result.columns["bucket"].to_pylist() == [expected]


def test_raw_occurred_at_is_not_read():
    # Two different raw strings with the same parsed time land in the same bucket.
    result = run("time_bucket", ["2026-11-15T18:47:31+05:00", "2026-11-15T13:47:31Z"],
                 times=[ms(MOMENT), ms(MOMENT)], output="bucket")
    assert len(set(result.columns["bucket"].to_pylist())) == 1
