"""`user_agent`: parse with ua-parser into browser family+major, OS family+major and device class; raw UA never passes."""

from __future__ import annotations

import pyarrow as pa
from ua_parser import parse

from pipeline.operators.base import BatchContext, Operator, OperatorResult
from pipeline.operators.columnar import BoundedCache, as_strings, map_unique_multi

_TABLET_HINTS = ("ipad", "tablet", "tab ")
# Distinct UAs are few (browser × OS × app versions); parsing one costs ~100 µs, so remember across batches.
CACHE_ENTRIES = 20_000


def device_class_of(ua: str, os_family: str, device_family: str) -> str:
    """mobile / tablet / desktop / bot / other, from ua-parser's fields plus the usual UA markers."""
    lowered = ua.lower()
    if device_family == "Spider" or "bot" in lowered or "crawler" in lowered:
        return "bot"
    if any(hint in lowered for hint in _TABLET_HINTS) or (os_family == "Android" and "mobile" not in lowered):
        return "tablet"
    if os_family in ("Android", "iOS") or "mobile" in lowered:
        return "mobile"
    if os_family in ("Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Chrome OS", "Fedora"):
        return "desktop"
    return "other"


def parse_user_agent(ua: str) -> tuple[str, str | None, str, str | None, str]:
    result = parse(ua[:1024])
    browser = result.user_agent.family if result.user_agent else "Other"
    browser_major = result.user_agent.major if result.user_agent else None
    os_family = result.os.family if result.os else "Other"
    os_major = result.os.major if result.os else None
    device_family = result.device.family if result.device else "Other"
    return browser, browser_major, os_family, os_major, device_class_of(ua, os_family, device_family)


class UserAgent(Operator):
    name = "user_agent"
    OUTPUTS = ("browser_family", "browser_major", "ua_os_family", "ua_os_major", "ua_device_class")

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(name, pa.string()) for name in self.OUTPUTS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cache = BoundedCache(CACHE_ENTRIES)

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        columns = map_unique_multi(as_strings(values), parse_user_agent, [pa.string()] * len(self.OUTPUTS),
                                   self._cache)
        return OperatorResult(dict(zip(self.OUTPUTS, columns)))
