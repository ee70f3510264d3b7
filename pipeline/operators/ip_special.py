"""Which IP addresses are client addresses, and the IPv4 address inside IPv6 forms that carry one.

Our own copy of the IANA special-purpose registries (not `ipaddress.is_global`, whose tables differ between
Python releases: 3.11.2 and 3.11.7 disagree on 6to4 and on 192.0.0.9), so every supported Python gives the same
verdict. Decisions for IPv6 forms that embed an IPv4 address (the embedded address is what identifies the
client, so it is truncated as IPv4 - otherwise a /48 of 6to4 keeps all 32 bits):
- IPv4-mapped ::ffff:a.b.c.d (RFC 4291): unwrapped.
- 6to4 2002:AABB:CCDD::/48 (RFC 3056): unwrapped (bits 16-47).
- Teredo 2001:0::/32 (RFC 4380): unwrapped to the client's public address (last 32 bits, inverted).
- NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): unwrapped (last 32 bits).
- NAT64 local-use 64:ff9b:1::/48 (RFC 8215): the IPv4 position depends on an operator's prefix length, so it
  cannot be unwrapped reliably: not global, rejected.
- IPv4-compatible ::a.b.c.d (deprecated): reserved space, rejected.
"""

from __future__ import annotations

import ipaddress

# IPv4 ranges that are never a client's public address (IANA IPv4 Special-Purpose Address Registry + multicast
# and reserved space). Sources: RFC 6890 and its updates.
IPV4_NOT_GLOBAL = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",        # "this network"
    "10.0.0.0/8",       # private
    "100.64.0.0/10",    # carrier-grade NAT shared space
    "127.0.0.0/8",      # loopback
    "169.254.0.0/16",   # link-local
    "172.16.0.0/12",    # private
    "192.0.0.0/24",     # IETF protocol assignments (incl. 192.0.0.9/.10 anycast services: never a client)
    "192.0.2.0/24",     # documentation TEST-NET-1
    "192.31.196.0/24",  # AS112-v4 (anycast DNS sink)
    "192.52.193.0/24",  # AMT relays (anycast)
    "192.88.99.0/24",   # deprecated 6to4 relay anycast
    "192.168.0.0/16",   # private
    "192.175.48.0/24",  # direct delegation AS112 service
    "198.18.0.0/15",    # benchmarking
    "198.51.100.0/24",  # documentation TEST-NET-2
    "203.0.113.0/24",   # documentation TEST-NET-3
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, incl. limited broadcast 255.255.255.255
))

# IPv6: only global unicast 2000::/3 can hold client addresses; inside it, these blocks cannot.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
IPV6_NOT_GLOBAL = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",        # IETF protocol assignments (Teredo 2001::/32 is unwrapped before this check)
    "2001:db8::/32",    # documentation
    "2002::/16",        # 6to4 (unwrapped before this check; what remains is never a host)
    "2620:4f:8000::/48",  # AS112-v6 anycast DNS sink
    "3fff::/20",        # documentation (RFC 9637)
))

TEREDO = ipaddress.IPv6Network("2001::/32")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The client's IPv4 address carried by a mapped, 6to4, Teredo or NAT64 (well-known prefix) address."""
    value = int(address)
    if address in IPV4_MAPPED or address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    if address in TEREDO:
        return ipaddress.IPv4Address(~value & 0xFFFFFFFF)  # RFC 4380: the client address is stored inverted
    return None


def is_client_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `address` can be a client's public address (after unwrapping, see embedded_ipv4)."""
    if address.version == 4:
        return not any(address in network for network in IPV4_NOT_GLOBAL)
    return address in IPV6_GLOBAL_UNICAST and not any(address in network for network in IPV6_NOT_GLOBAL)


def ipv4_range_bounds() -> list[int]:
    """Sorted starts of the ranges where the IPv4 verdict is constant (for a column-at-a-time lookup)."""
    bounds = {0}
    for network in IPV4_NOT_GLOBAL:
        bounds.update((int(network.network_address), int(network.broadcast_address) + 1))
    return sorted(b for b in bounds if b < 1 << 32)
