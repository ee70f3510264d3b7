"""`ip_truncate`: network prefix only; invalid and non-global addresses are rejected as invalid_ip."""

import ipaddress

import pytest
from operator_helpers import run

from pipeline.validate.rejects import INVALID_IP


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
    from pipeline.operators.ip_truncate import parse_ipv4_int
    for text in ["0.0.0.0", "255.255.255.255", "1.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3.-1", "1..3.4",
                 "١.2.3.4", "1.2.3.4.5", "+1.2.3.4", "1.2.3.4 "]:
        try:
            expected = int(ipaddress.IPv4Address(text))
        except ValueError:
            expected = None
        assert parse_ipv4_int(text) == expected, text
