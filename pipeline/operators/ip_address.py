"""Parsing and classifying one IP address, shared by the IP operators (a helper, not a plugin)."""

from __future__ import annotations

import ipaddress

from pipeline.operators.ip_special import embedded_ipv4, is_client_address

NOT_AN_ADDRESS = "not an IPv4 or IPv6 address"
NOT_GLOBAL = "IP address is private, loopback, reserved, multicast or otherwise not a client's public address"


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
    """The address, or a reason string when it is invalid or (optionally) not a client's public address.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) become that IPv4 address, so they are
    truncated as IPv4 whatever `reject_non_global` says (ip_special.py records each decision).
    """
    try:
        plain_v4 = parse_ipv4_int(text)  # fast path for the common case; same result as ip_address()
        address = ipaddress.IPv4Address(plain_v4) if plain_v4 is not None else ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        return NOT_AN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return NOT_GLOBAL if reject_non_global else NOT_AN_ADDRESS  # "fe80::1%eth0": a link-local form
        address = embedded_ipv4(address) or address
    if reject_non_global and not is_client_address(address):
        return NOT_GLOBAL
    return address
