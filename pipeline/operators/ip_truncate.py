"""`ip_truncate`: keep only the network prefix of an IP (IPv4 /24, IPv6 /48 by default); bad IPs are rejected."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from pydantic import Field

from pipeline.operators.base import BatchContext, Operator, OperatorParams, OperatorResult, map_distinct
from pipeline.validate.rejects import INVALID_IP


class IpTruncateParams(OperatorParams):
    ipv4_prefix: int = Field(24, ge=0, le=32)
    ipv6_prefix: int = Field(48, ge=0, le=128)
    reject_non_global: bool = Field(True, description="dead-letter private, loopback, reserved, multicast IPs")


def parse_ip(text: str, reject_non_global: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    """The address, or a reason string when it is invalid or (optionally) not globally routable."""
    try:
        address = ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        return "not an IPv4 or IPv6 address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if reject_non_global and not address.is_global:
        return "IP address is private, loopback, reserved or otherwise not global"
    return address


class IpTruncate(Operator):
    name = "ip_truncate"
    Params = IpTruncateParams

    def default_output(self, field_path: str) -> str:
        return "ip_prefix"

    def output_schema(self) -> list[pa.Field]:
        return [pa.field(self.output, pa.string())]

    def _truncate(self, text: str) -> tuple[str | None, str | None]:
        address = parse_ip(text, self.params.reject_non_global)
        if isinstance(address, str):
            return None, address
        prefix = self.params.ipv4_prefix if address.version == 4 else self.params.ipv6_prefix
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)), None

    def apply(self, values: list, ctx: BatchContext) -> OperatorResult:
        pairs = map_distinct(values, self._truncate, missing=(None, None))
        rejects = {row: (INVALID_IP, reason) for row, (_, reason) in enumerate(pairs) if reason}
        return OperatorResult({self.output: pa.array([p for p, _ in pairs], type=pa.string())}, rejects)
