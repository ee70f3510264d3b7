"""`ip_cryptopan`: keyed prefix-preserving anonymization, one derived key per epoch; bad IPs rejected."""

import ipaddress

import pytest
from operators_support import T1, T2, run

from pipeline.common.rejects import INVALID_IP


def common_prefix_bits(a: str, b: str) -> int:
    x, y = int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))
    return 32 - (x ^ y).bit_length()


@pytest.mark.parametrize("a, b, shared", [
    ("95.56.12.34", "95.56.12.99", 24),   # same /24 stays in one /24
    ("95.56.12.34", "95.56.200.1", 16),   # same /16 only
    ("95.56.12.34", "2.132.1.1", 0),      # unrelated networks
])
def test_prefix_preserved(a, b, shared):
    out = run("ip_cryptopan", [a, b], output="ip").columns["ip"].to_pylist()
    assert common_prefix_bits(out[0], out[1]) == common_prefix_bits(a, b) >= shared
    assert out[0] != a and out[1] != b


def test_epoch_changes_mapping_and_rejects_bad():
    result = run("ip_cryptopan", ["95.56.12.34", "95.56.12.34", "10.0.0.1", "nope"], times=[T1, T2, T1, T2],
                 output="ip")
    out = result.columns["ip"].to_pylist()
    assert out[0] != out[1]
    assert {row: code for row, (code, _) in result.rejects.items()} == {2: INVALID_IP, 3: INVALID_IP}
