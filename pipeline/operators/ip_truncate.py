"""`ip_truncate`: keep only the network prefix of an IP (IPv4 /24, IPv6 /48 by default); bad IPs are rejected."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import BoundedCache, as_strings, encode
from pipeline.validate.rejects import INVALID_IP

# A client IP recurs in many events (one per device and network); remember results across batches.
CACHE_ENTRIES = 50_000


class IpTruncateParams(OperatorParams):
    ipv4_prefix: int = Field(24, ge=0, le=32)
    ipv6_prefix: int = Field(48, ge=0, le=128)
    reject_non_global: bool = Field(True, description="dead-letter private, loopback, reserved, multicast IPs")


def parse_ipv4_int(text: str) -> int | None:
    """Dotted-quad IPv4 as an int, accepting exactly what `ipaddress` accepts; None when not that plain form."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()) or (part[0] == "0" and len(part) > 1):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def parse_ip(text: str, reject_non_global: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    """The address, or a reason string when it is invalid or (optionally) not globally routable."""
    try:
        plain_v4 = parse_ipv4_int(text)  # fast path for the common case; same result as ip_address()
        address = ipaddress.IPv4Address(plain_v4) if plain_v4 is not None else ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        return "not an IPv4 or IPv6 address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # Python counts multicast as global; it is never a client address.
    if reject_non_global and (not address.is_global or address.is_multicast):
        return "IP address is private, loopback, reserved or otherwise not global"
    return address


def network_prefix(address: ipaddress.IPv4Address | ipaddress.IPv6Address, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """`address` with the host bits zeroed, as "network/prefix" (what ip_network(strict=False) prints)."""
    if address.version == 4:
        value = int(address) & ((0xFFFFFFFF << (32 - ipv4_prefix)) & 0xFFFFFFFF)
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}/{ipv4_prefix}"
    return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))


class IpTruncate(Operator):
    name = "ip_truncate"
    Params = IpTruncateParams

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cache = BoundedCache(CACHE_ENTRIES)

    def default_output(self, field_path: str) -> str:
        return "ip_prefix"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def _truncate(self, text: str) -> tuple[str | None, str | None]:
        address = parse_ip(text, self.params.reject_non_global)
        if isinstance(address, str):
            return None, address
        return network_prefix(address, self.params.ipv4_prefix, self.params.ipv6_prefix), None

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        uniques, indices = encode(as_strings(values))
        pairs = self._cache.lookup(uniques, lambda keys: [self._truncate(k) for k in keys])
        prefixes = pa.array([prefix for prefix, _ in pairs], type=pa.string()).take(indices)
        rejects = {}
        if any(reason for _, reason in pairs):
            for row, slot in enumerate(indices.to_pylist()):
                if slot is not None and pairs[slot][1]:
                    rejects[row] = (INVALID_IP, pairs[slot][1])
        return OperatorResult({self.output: prefixes}, rejects)
