"""Explicit operator registry: policy operator name → class (no subclass discovery)."""

from __future__ import annotations

from pipeline.operators.allowlist import Allowlist
from pipeline.operators.base import Operator
from pipeline.operators.device_generalize import DeviceGeneralize
from pipeline.operators.drop import Drop
from pipeline.operators.geo_cell import GeoCell
from pipeline.operators.hmac_pseudonym import HmacPseudonym
from pipeline.operators.ip_cryptopan import IpCryptoPan
from pipeline.operators.ip_truncate import IpTruncate
from pipeline.operators.keep import Keep
from pipeline.operators.text_pii import TextPii
from pipeline.operators.time_bucket import TimeBucket
from pipeline.operators.user_agent import UserAgent
from pipeline.operators.version_major import VersionMajor

OPERATORS: dict[str, type[Operator]] = {cls.name: cls for cls in (
    Keep, Drop, HmacPseudonym, IpTruncate, IpCryptoPan, GeoCell, TimeBucket, UserAgent, DeviceGeneralize,
    VersionMajor, Allowlist, TextPii,
)}


def operator_class(name: str) -> type[Operator]:
    try:
        return OPERATORS[name]
    except KeyError:
        raise KeyError(f"unknown operator {name!r}; known: {', '.join(sorted(OPERATORS))}") from None
