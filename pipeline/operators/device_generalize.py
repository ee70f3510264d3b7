"""`device_generalize`: manufacturer kept (known brands), model → class, screen → bucket, OS version → major."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import as_strings, map_unique

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


def os_family(os_name: str) -> str | None:
    lowered = os_name.strip().lower()
    return _OS_FAMILIES.get(lowered, "Other" if lowered else None)


def os_major(os_version: str) -> str | None:
    return os_version.split(".", 1)[0] if os_version[:1].isdigit() else None


def locale_language(locale: str) -> str | None:
    return locale.replace("_", "-").split("-", 1)[0].lower()[:3] or None


class DeviceGeneralize(Operator):
    name = "device_generalize"
    Params = DeviceParams
    OUTPUTS = ("device_manufacturer", "device_class", "os_family", "os_major", "screen_bucket",
               "locale_language", "network")

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(name, pa.string()) for name in self.OUTPUTS]

    def _manufacturer(self, raw: str) -> str | None:
        manufacturer = raw.strip().lower()
        return manufacturer if manufacturer in self.params.manufacturers else ("other" if manufacturer else None)

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        # Each output depends on one sub-field, so each is computed on that sub-field's distinct values.
        fields = {values.type.field(i).name: as_strings(child) for i, child in enumerate(values.flatten())}
        nulls = pa.nulls(len(values), pa.string())

        def column(name: str, fn) -> pa.Array:
            return map_unique(fields[name], fn, pa.string()) if name in fields else nulls

        return OperatorResult({
            "device_manufacturer": column("manufacturer", self._manufacturer),
            "device_class": column("model", lambda model: model_class(model, None)),
            "os_family": column("os", os_family),
            "os_major": column("os_version", os_major),
            "screen_bucket": column("screen", screen_bucket),
            "locale_language": column("locale", locale_language),
            "network": fields.get("network", nulls),
        })
