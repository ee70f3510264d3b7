"""IP truncation as an attacker would probe it: every special range is refused, and every IPv6 form that carries
an IPv4 address (mapped, 6to4, Teredo, NAT64) keeps no more of that IPv4 address than a plain IPv4 would.

The oracle below is written from the IANA registries with plain integer arithmetic; it shares no code with
pipeline/operators/ip_special.py and never asks Python's ipaddress tables (which differ between releases).
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_support import run

from pipeline.operators.ip_truncate import IpTruncate, IpTruncateParams


def _v4(text: str) -> tuple[int, int]:
    address, length = text.split("/")
    a, b, c, d = (int(x) for x in address.split("."))
    start = a << 24 | b << 16 | c << 8 | d
    return start, start + (1 << (32 - int(length))) - 1


def _v6(text: str) -> tuple[int, int]:
    network = ipaddress.IPv6Network(text)  # parsing only
    return int(network.network_address), int(network.broadcast_address)


# (range, what it is) - IANA IPv4 special-purpose registry, multicast, reserved.
SPECIAL_V4 = [_v4(r) for r in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")]
# IPv6 space that never holds a client: everything outside 2000::/3 except the unwrapped forms, and these.
SPECIAL_V6 = [_v6(r) for r in (
    "::/8",            # unspecified, loopback, IPv4-compatible, and the rest of the reserved block
    "100::/64",        # discard-only
    "64:ff9b:1::/48",  # NAT64 local use: cannot be unwrapped reliably
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "3fff::/20", "4000::/3", "e000::/4")]


def _special_v4(value: int) -> bool:
    return any(lo <= value <= hi for lo, hi in SPECIAL_V4)


def _dotted(value: int) -> str:
    return ".".join(str(value >> s & 255) for s in (24, 16, 8, 0))


def _expected_v4(value: int, prefix: int) -> str:
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return f"{_dotted(value & mask)}/{prefix}"


def _hex6(value: int) -> str:
    return ":".join(f"{value >> s & 0xFFFF:x}" for s in range(112, -1, -16))


# Every embedding of an IPv4 address `v`; `noise` fills the bits the form leaves free.
EMBEDDINGS = {
    "mapped": lambda v, noise: _hex6(0xFFFF << 32 | v),
    "6to4": lambda v, noise: _hex6(0x2002 << 112 | v << 80 | noise & ((1 << 80) - 1)),
    "teredo": lambda v, noise: _hex6(0x20010000 << 96 | (noise & ((1 << 64) - 1)) << 32 | (~v & 0xFFFFFFFF)),
    "nat64": lambda v, noise: _hex6(0x64FF9B << 96 | v),
}

v4_anywhere = st.one_of(st.integers(0, 2**32 - 1),
                        st.sampled_from(SPECIAL_V4).flatmap(lambda r: st.integers(r[0], r[1])),
                        st.sampled_from([e + d for r in SPECIAL_V4 for e in r for d in (-1, 0, 1)
                                         if 0 <= e + d < 2**32]))


def _truncate_all(texts: list[str], params: dict) -> tuple[list, dict]:
    """Through the operator, in one batch (the column path) and one by one (the reference path)."""
    batch = run("ip_truncate", texts, params=params, output="net")
    op = IpTruncate("ip", IpTruncateParams.model_validate(params), "net")
    single = [op._truncate(t) for t in texts]
    assert batch.columns["net"].to_pylist() == [p for p, _ in single]
    assert set(batch.rejects) == {i for i, (_, reason) in enumerate(single) if reason}
    return batch.columns["net"].to_pylist(), batch.rejects


@settings(max_examples=300, deadline=None)
@given(st.lists(v4_anywhere, min_size=1, max_size=40), st.integers(0, 32))
def test_every_special_ipv4_range_is_refused_and_every_other_address_truncated(values, prefix):
    nets, rejects = _truncate_all([_dotted(v) for v in values], {"ipv4_prefix": prefix})
    for i, v in enumerate(values):
        if _special_v4(v):
            assert i in rejects and nets[i] is None, _dotted(v)
        else:
            assert nets[i] == _expected_v4(v, prefix)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(v4_anywhere, st.sampled_from(sorted(EMBEDDINGS)), st.integers(0, 2**80 - 1)),
                min_size=1, max_size=30), st.integers(0, 32), st.integers(0, 128), st.booleans())
def test_embedded_ipv4_is_truncated_as_ipv4(rows, v4_prefix, v6_prefix, reject):
    texts = [EMBEDDINGS[form](v, noise) for v, form, noise in rows]
    nets, rejects = _truncate_all(texts, {"ipv4_prefix": v4_prefix, "ipv6_prefix": v6_prefix,
                                          "reject_non_global": reject})
    for i, (v, form, _) in enumerate(rows):
        if reject and _special_v4(v):
            assert i in rejects, (form, texts[i])
        else:
            # Exactly what the plain IPv4 address gives: never more of its bits, whatever the IPv6 prefix.
            assert nets[i] == _expected_v4(v, v4_prefix), (form, texts[i])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SPECIAL_V6).flatmap(lambda r: st.integers(r[0], r[1])), min_size=1, max_size=30))
def test_every_special_ipv6_range_is_refused(values):
    texts = [str(ipaddress.IPv6Address(v)) for v in values]
    _, rejects = _truncate_all(texts, {})
    # ::ffff:a.b.c.d lies in ::/8 but is an IPv4 address: judged as that address.
    expected = {i for i, v in enumerate(values) if not (v >> 32 == 0xFFFF and not _special_v4(v & 0xFFFFFFFF))}
    assert set(rejects) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(0x2000 << 112, (0x4000 << 112) - 1), st.integers(0, 128))
def test_global_unicast_ipv6_keeps_only_its_prefix(value, prefix):
    text = str(ipaddress.IPv6Address(value))
    nets, rejects = _truncate_all([text], {"ipv6_prefix": prefix})
    special = any(lo <= value <= hi for lo, hi in SPECIAL_V6) or value >> 112 == 0x2002 or value >> 96 == 0x20010000
    if not special and not any(lo <= value <= hi for lo, hi in [_v6("2001::/23"), _v6("2620:4f:8000::/48")]):
        mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
        assert nets == [f"{ipaddress.IPv6Address(value & mask)}/{prefix}"]


def test_the_issue_examples():
    # 6to4 of 93.184.31.10: Python 3.11.7 kept all 32 bits at /48, Debian's 3.11.2 rejected it.
    assert run("ip_truncate", ["2002:5db8:1f0a::1"], output="n").columns["n"].to_pylist() == ["93.184.31.0/24"]
    # Teredo with client 93.184.31.10 (stored inverted) and NAT64 of the same address.
    for text in ("2001:0:4136:e378:8000:63bf:a247:e0f5", "64:ff9b::5db8:1f0a", "64:ff9b::93.184.31.10"):
        assert run("ip_truncate", [text], output="n").columns["n"].to_pylist() == ["93.184.31.0/24"], text


def test_cryptopan_also_unwraps():
    plain = run("ip_cryptopan", ["93.184.31.10"], output="c").columns["c"].to_pylist()
    wrapped = run("ip_cryptopan", ["2002:5db8:1f0a::1"], output="c").columns["c"].to_pylist()
    assert plain == wrapped and "." in plain[0]
    assert pa.array(plain).null_count == 0
