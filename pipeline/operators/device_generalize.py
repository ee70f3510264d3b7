"""`device_generalize`: manufacturer kept (known brands), model → class, screen → bucket, OS version → major."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult, map_distinct

KNOWN_MANUFACTURERS = ("apple", "samsung", "xiaomi", "huawei", "honor", "oppo", "vivo", "realme", "tecno",
                       "infinix", "google", "oneplus", "motorola", "nokia", "sony", "lenovo", "zte", "poco")
_TABLET_MODEL_HINTS = ("ipad", "tab", "pad", "sm-t", "sm-x")
_OS_FAMILIES = {"android": "Android", "ios": "iOS", "ipados": "iOS", "windows": "Windows", "macos": "macOS",
                "mac os x": "macOS", "linux": "Linux", "harmonyos": "HarmonyOS"}


class DeviceParams(OperatorParams):
    manufacturers: tuple[str, ...] = Field(KNOWN_MANUFACTURERS, description="kept as is; others become 'other'")


def screen_bucket(screen: str | None) -> str | None:
    """Bucket by the short side in pixels: a rare exact resolution can single a device out."""
    if not screen or "x" not in screen:
        return None
    try:
        width, height = (int(part) for part in screen.lower().split("x", 1))
    except ValueError:
        return None
    short = min(width, height)
    if short < 720:
        return "<720"
    if short < 1080:
        return "720-1079"
    if short < 1440:
        return "1080-1439"
    return ">=1440"


def model_class(model: str | None, screen: str | None) -> str | None:
    if not model:
        return None
    lowered = model.lower()
    if any(hint in lowered for hint in _TABLET_MODEL_HINTS):
        return "tablet"
    return "phone"


class DeviceGeneralize(Operator):
    name = "device_generalize"
    Params = DeviceParams
    OUTPUTS = ("device_manufacturer", "device_class", "os_family", "os_major", "screen_bucket",
               "locale_language", "network")

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(name, pa.string()) for name in self.OUTPUTS]

    def _generalize(self, device: dict) -> tuple:
        manufacturer = (device.get("manufacturer") or "").strip().lower()
        manufacturer = manufacturer if manufacturer in self.params.manufacturers else ("other" if manufacturer else None)
        os_raw = (device.get("os") or "").strip().lower()
        os_family = _OS_FAMILIES.get(os_raw, "Other" if os_raw else None)
        os_version = device.get("os_version") or ""
        os_major = os_version.split(".", 1)[0] if os_version[:1].isdigit() else None
        locale = device.get("locale") or ""
        language = locale.replace("_", "-").split("-", 1)[0].lower()[:3] or None
        return (manufacturer, model_class(device.get("model"), device.get("screen")), os_family, os_major,
                screen_bucket(device.get("screen")), language, device.get("network"))

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        # dicts are unhashable; key the cache on their items so repeated devices are generalized once
        keyed = [None if v is None else tuple(sorted((k, v[k]) for k in v if not isinstance(v[k], (dict, list))))
                 for v in values]
        rows = map_distinct(keyed, lambda items: self._generalize(dict(items)), missing=(None,) * len(self.OUTPUTS))
        return OperatorResult({name: pa.array([r[i] for r in rows], type=pa.string())
                               for i, name in enumerate(self.OUTPUTS)})
