"""`ip_truncate`: network prefix only; invalid and non-global addresses are rejected as invalid_ip."""

import ipaddress
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_support import run

from pipeline.common.rejects import INVALID_IP
from pipeline.operators import ip_truncate
from pipeline.operators.ip_address import parse_ip, parse_ipv4_int
from pipeline.operators.ip_truncate import (
    VECTORIZE_FROM,
    IpTruncate,
    IpTruncateParams,
    _non_global_ranges,
    format_ipv4_networks,
    network_prefix,
    non_global_ipv4,
    parse_dotted_quads,
)


@pytest.mark.parametrize("ip, params, expected", [
    ("95.56.12.34", {}, "95.56.12.0/24"),                              # IPv4 default /24
    ("95.56.12.34", {"ipv4_prefix": 16}, "95.56.0.0/16"),              # IPv4 custom prefix
    ("95.56.12.34", {"ipv4_prefix": 32}, "95.56.12.34/32"),            # /32 keeps the host (documented risk)
    (" 95.56.12.34 ", {}, "95.56.12.0/24"),                            # surrounding spaces tolerated
    ("2a03:32c0:1:2::5", {}, "2a03:32c0:1::/48"),                      # IPv6 default /48
    ("2a03:32c0:1:2::5", {"ipv6_prefix": 32}, "2a03:32c0::/32"),       # IPv6 custom prefix
    ("::ffff:95.56.1.2", {}, "95.56.1.0/24"),                          # IPv4-mapped IPv6 treated as IPv4
    ("10.1.2.3", {"reject_non_global": False}, "10.1.2.0/24"),         # private allowed when configured
])
def test_prefix(ip, params, expected):
    result = run("ip_truncate", [ip], params=params, output="net")
    assert result.columns["net"].to_pylist() == [expected]
    assert result.rejects == {}


@pytest.mark.parametrize("ip", [
    "999.1.2.3",        # octet out of range
    "01.2.3.4",         # leading zero (ambiguous octal)
    "1.2.3",            # three octets
    "hello",            # not an address
    "",                 # empty
    "192.168.1.20",     # private
    "127.0.0.1",        # loopback
    "100.64.0.1",       # carrier-grade NAT
    "fe80::1",          # link-local v6
    "2001:db8::1",      # documentation v6
    "224.0.0.1",        # multicast v4 (Python calls it global)
    "ff02::1",          # multicast v6
])
def test_rejected_as_invalid_ip(ip):
    result = run("ip_truncate", ["95.56.1.1", ip, "95.56.1.1"], output="net")
    assert set(result.rejects) == {1}
    assert result.rejects[1][0] == INVALID_IP
    assert ip not in result.rejects[1][1] or ip == ""  # the reason never quotes the address


def test_fast_ipv4_parser_agrees_with_ipaddress():
    for text in ["0.0.0.0", "255.255.255.255", "1.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3.-1", "1..3.4",
                 "١.2.3.4", "1.2.3.4.5", "+1.2.3.4", "1.2.3.4 "]:
        try:
            expected = int(ipaddress.IPv4Address(text))
        except ValueError:
            expected = None
        assert parse_ipv4_int(text) == expected, text


# --- The column-at-a-time IPv4 path against the per-value reference (parse_ip / _truncate) ----------------------

TRICKY = ["01.2.3.4", "1.2.3", "256.1.1.1", " 1.2.3.4", "1.2.3.4\n", "1.2.3.4 ", "\t95.56.1.2", "1.2.3.04",
          "1.2.3.4.5", "1..3.4", "1.2.3.", ".1.2.3", "+1.2.3.4", "1.2.3.-1", "١.2.3.4", "1.2.3.4\x00", "0.0.0.0",
          "255.255.255.255", "1000.1.1.1", "12345.1.1.1", "1.2.3.4444", "001.2.3.4", "0.1.2.3", "1.0.0.0",
          "192.168.1.20", "10.0.0.1", "100.64.0.1", "127.0.0.1", "169.254.9.9", "224.0.0.1", "240.0.0.1",
          "192.0.0.9", "192.0.0.10", "192.0.0.171", "192.88.99.1", "198.18.0.1", "203.0.113.7",
          "::ffff:95.56.1.2", "::ffff:10.0.0.1", "::ffff:5f38:102", "2a03:32c0:1:2::5", "fe80::1", "::1", "",
          "95.56.12.34", "1.2.3.4/24", "0x1.2.3.4", "1.2.3.4:80", "1.2.3.4.", "999.999.999.999"]
MUTATIONS = [
    lambda s: s,                                    # (twice: plain quads should stay the common case)
    lambda s: s,
    lambda s: "0" + s,                              # leading zero on the first octet
    lambda s: s.replace(".", ".0", 1),              # leading zero inside
    lambda s: " " + s,
    lambda s: s + "\n",
    lambda s: s.rsplit(".", 1)[0],                  # three octets
    lambda s: s + ".7",                             # five octets
    lambda s: s.replace(".", "..", 1),
    lambda s: s.replace("1", "١"),                  # a non-ASCII digit
    lambda s: "::ffff:" + s,                        # IPv4-mapped IPv6
    lambda s: s[:-1] + "9" + s[-1],                 # one digit more (octet may pass 255)
]


def _dotted(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def _range_edges() -> list[int]:
    """Every address next to a boundary of the special-purpose networks (where verdicts flip)."""
    starts = _non_global_ranges()[0].tolist()
    return sorted({e for s in starts for e in (s - 1, s, s + 1) if 0 <= e < 1 << 32})


quads = st.one_of(st.integers(0, 2**32 - 1).map(_dotted), st.sampled_from(_range_edges()).map(_dotted))
ip_texts = st.one_of(
    st.builds(lambda text, mutate: mutate(text), quads, st.sampled_from(MUTATIONS)),
    st.sampled_from(TRICKY),
    st.ip_addresses(v=6).map(str),
    st.text(alphabet="0123456789.:abcdef \n٠", max_size=18),
    st.text(max_size=18),
    st.none(),
)
ip_params = st.fixed_dictionaries({"ipv4_prefix": st.integers(0, 32), "ipv6_prefix": st.integers(0, 128),
                                   "reject_non_global": st.booleans()})


def test_verdicts_do_not_use_the_stdlib_tables(monkeypatch):
    """ipaddress's is_global/is_private tables differ between Python releases; ours must not consult them."""
    op = IpTruncate("ip", IpTruncateParams(), "net")
    expected = [op._truncate(text) for text in TRICKY]
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for name in ("is_global", "is_private", "is_multicast", "is_reserved", "is_loopback", "is_link_local"):
            monkeypatch.setattr(cls, name, property(lambda self: pytest.fail("stdlib range table consulted")))
    _non_global_ranges.cache_clear()
    fresh = IpTruncate("ip", IpTruncateParams(), "net")
    result = fresh.apply(pa.array(TRICKY), None)
    assert result.columns["net"].to_pylist() == [prefix for prefix, _ in expected]
    assert result.rejects == {row: (INVALID_IP, reason) for row, (_, reason) in enumerate(expected) if reason}


@pytest.mark.parametrize("vectorize_from", [0, VECTORIZE_FROM])  # every miss vectorized / as in production
@settings(max_examples=300, deadline=None)
@given(st.lists(ip_texts, max_size=60), ip_params, st.integers(0, 3))
def test_batch_path_matches_per_value_reference(vectorize_from, texts, params, shift):
    op = IpTruncate("ip", IpTruncateParams.model_validate(params), "net")
    expected = [(None, None) if text is None else op._truncate(text) for text in texts]
    expected_rejects = {row: (INVALID_IP, reason) for row, (_, reason) in enumerate(expected) if reason}
    # A slice of a longer column, as the kernel's struct children can be.
    column = pa.array(["1.1.1.1"] * shift + texts, type=pa.string()).slice(shift)
    with mock.patch.object(ip_truncate, "VECTORIZE_FROM", vectorize_from):
        for _ in range(2):  # computed, then served from the cache
            result = op.apply(column, None)
            assert result.columns["net"].to_pylist() == [prefix for prefix, _ in expected]
            assert result.rejects == expected_rejects


def test_tricky_strings_in_one_vectorized_batch():
    op = IpTruncate("ip", IpTruncateParams(), "net")
    assert len(TRICKY) >= VECTORIZE_FROM
    result = op.apply(pa.array(TRICKY), None)
    expected = [op._truncate(text) for text in TRICKY]
    assert result.columns["net"].to_pylist() == [prefix for prefix, _ in expected]
    assert result.rejects == {row: (INVALID_IP, reason) for row, (_, reason) in enumerate(expected) if reason}
    assert result.columns["net"].to_pylist()[TRICKY.index("95.56.12.34")] == "95.56.12.0/24"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ip_texts.filter(lambda t: t is not None), st.booleans()), max_size=40), st.integers(0, 3))
def test_column_parser_accepts_exactly_what_parse_ipv4_int_accepts(rows, shift):
    texts = ["9.9.9.9"] * shift + [text for text, _ in rows]
    valid = [True] * shift + [keep for _, keep in rows]
    # Null rows keep their bytes (Arrow allows it; some kernels leave them) and the column is a slice.
    validity = pa.array(valid, type=pa.bool_()).buffers()[1]
    dense = pa.array(texts, type=pa.string())
    column = pa.Array.from_buffers(pa.string(), len(texts), [validity, *dense.buffers()[1:]],
                                   null_count=valid.count(False)).slice(shift)
    plain, addresses = parse_dotted_quads(column)
    expected = [parse_ipv4_int(text) if keep else None for text, keep in rows]
    assert plain.tolist() == [value is not None for value in expected]
    assert [int(a) if ok else None for a, ok in zip(addresses, plain)] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(_range_edges())), max_size=40),
       st.integers(0, 32), st.data())
def test_column_networks_match_network_prefix(values, prefix, data):
    valid = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    texts = format_ipv4_networks(np.array(values, dtype=np.uint32), valid, prefix)
    texts.validate(full=True)
    assert texts.to_pylist() == [network_prefix(ipaddress.IPv4Address(v), prefix, 48) if ok else None
                                 for v, ok in zip(values, valid.tolist())]


def test_non_global_table_agrees_with_parse_ip_at_every_range_edge():
    edges = _range_edges()
    flags = non_global_ipv4(np.array(edges, dtype=np.uint32)).tolist()
    assert flags == [isinstance(parse_ip(_dotted(e), True), str) for e in edges]
    assert flags[edges.index(int(ipaddress.IPv4Address("10.0.0.0")))]  # sanity: the table is not all False
    assert not flags[edges.index(int(ipaddress.IPv4Address("10.0.0.0")) - 1)]
