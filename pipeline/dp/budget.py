"""Budget accounting: which period a window belongs to, and whether its release still fits that period's ε.

Composition is basic (ε and δ add up): over the windows of a period and over every DP release in it. Releases of
other periods do not count against this one, but they still add up for a person active across periods: the
policy's `epsilon_per_period` bounds one period, not a lifetime (docs/dp.md). Extracts made with k-anonymity are
outside this budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

BUDGET_SPENT = "period budget spent"
# Rounding slack when comparing sums of floats against the cap (never more than one part in a billion).
_SLACK = 1e-9


def period_of(window_ms: int, period: str) -> str:
    """'2026-12-07' (day) or '2026-12' (month), UTC, of a window's start."""
    day = dt.datetime.fromtimestamp(window_ms / 1000, tz=dt.timezone.utc)
    return day.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    spent: float       # ε already spent in the period (this release's partition share)
    cap: float
    reason: str = ""


def decide(spent: float, cost: float, cap: float) -> Decision:
    """May a release costing `cost` go out when `spent` of `cap` is already used?"""
    if spent + cost > cap * (1 + _SLACK):
        return Decision(False, spent, cap, f"{BUDGET_SPENT}: {spent:.4g} of {cap:.4g} used, this release needs "
                                           f"{cost:.4g}")
    return Decision(True, spent, cap)
