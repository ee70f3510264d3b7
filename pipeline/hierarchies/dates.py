"""Date/time builder `date:hour,day,week[;tz=…]` (calendar) or `date:hour_of_day,part_of_day` (clock), in local time."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from pipeline.hierarchies.base import HierarchyError

name = "date"

# The deployment's zone (Kazakhstan, UTC+5 since 2024-03-01) when neither the spec nor the policy names one.
DEFAULT_TIME_ZONE = "Asia/Almaty"

# Finest to coarsest. Days nest in ISO weeks, but weeks do not nest in months, and an ISO week
# belongs to one ISO year (%G), not always to the calendar year of each of its days.
UNIT_FORMATS = {
    "minute": "%Y-%m-%dT%H:%M",
    "hour": "%Y-%m-%dT%H",
    "day": "%Y-%m-%d",
    "week": "%G-W%V",
    "month": "%Y-%m",
    "year": "%Y",
    "hour_of_day": "%H",
    "part_of_day": None,  # computed from the hour, see PARTS_OF_DAY
}
_ORDER = list(UNIT_FORMATS)
# The clock ladder (when in the day, whatever the date) nests only in itself, not in the calendar one.
CLOCK_UNITS = ("hour_of_day", "part_of_day")
PARTS_OF_DAY = np.array(["night (00-06)"] * 6 + ["morning (06-12)"] * 6 + ["afternoon (12-18)"] * 6
                        + ["evening (18-24)"] * 6, dtype=object)


def parse_params(params: str, defaults: Mapping[str, str]) -> dict:
    """Parse units (finer to coarser) and an optional `;tz=NAME` (default: the policy's time zone)."""
    unit_text, _, option_text = params.partition(";")
    options = {}
    for part in filter(None, (p.strip() for p in option_text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() != "tz":
            raise HierarchyError(f"date: unknown option {part!r}; the only option is tz=IANA/Name")
        options["tz"] = value.strip()
    units = [u.strip().lower() for u in unit_text.split(",") if u.strip()]
    if not units:
        raise HierarchyError(f"date: give units, e.g. date:hour,day,week (known: {', '.join(_ORDER)})")
    unknown = [u for u in units if u not in UNIT_FORMATS]
    if unknown:
        raise HierarchyError(f"date: unknown unit(s) {unknown}; known: {', '.join(_ORDER)}")
    if 0 < sum(u in CLOCK_UNITS for u in units) < len(units):
        raise HierarchyError("date: hour_of_day/part_of_day (the clock) do not nest in calendar units; "
                             "use them on their own, e.g. date:hour_of_day,part_of_day")
    ranks = [_ORDER.index(u) for u in units]
    if ranks != sorted(set(ranks)):
        raise HierarchyError(f"date: units must go from finer to coarser without repeats, got {','.join(units)}")
    if "week" in units and "month" in units:
        raise HierarchyError("date: weeks do not nest in months; use week,year or day,month,year")
    time_zone = options.get("tz") or defaults.get("time_zone") or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HierarchyError(f"date: unknown time zone {time_zone!r} (give an IANA name, e.g. Asia/Almaty)") from exc
    return {"units": units, "tz": time_zone}


def levels(params: dict) -> int:
    """One level per unit."""
    return len(params["units"])


def local_times(values: np.ndarray, time_zone: str) -> pd.Series:
    """Timestamps in the zone; text without an offset is taken as UTC (how the lake stores time)."""
    parsed = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce", format="mixed", utc=True)
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise HierarchyError(f"value {values[np.flatnonzero(bad)[0]]!r} is not a date")
    return parsed.dt.tz_convert(time_zone)


def generalize(values: np.ndarray, level: int, params: dict) -> np.ndarray:
    """Truncate each timestamp to the level's unit, in local time."""
    unit = params["units"][level - 1]
    local = local_times(values, params["tz"])
    if unit == "part_of_day":
        return PARTS_OF_DAY[local.dt.hour.to_numpy()]
    fmt = "%G" if unit == "year" and "week" in params["units"] else UNIT_FORMATS[unit]
    return local.dt.strftime(fmt).to_numpy(dtype=object)
