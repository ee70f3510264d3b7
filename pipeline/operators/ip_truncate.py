"""`ip_truncate`: keep only the network prefix of an IP (IPv4 /24, IPv6 /48 by default); bad IPs are rejected."""

from __future__ import annotations

import functools
import ipaddress
import itertools

import numpy as np
import pyarrow as pa
from pydantic import Field

from pipeline.common.rejects import INVALID_IP
from pipeline.operators.base import (
    BatchContext,
    Operator,
    OperatorParams,
    OperatorResult,
)
from pipeline.operators.columnar import BoundedCache, as_strings, encode
from pipeline.operators.ip_address import NOT_GLOBAL, parse_ip
from pipeline.operators.ip_special import ipv4_range_bounds

# A client IP recurs in many events (one per device and network); remember results across batches.
CACHE_ENTRIES = 50_000
# Fewer new values than this in a batch: the column-at-a-time path's fixed cost (~50 µs) exceeds ~2.5 µs a value.
VECTORIZE_FROM = 20


class IpTruncateParams(OperatorParams):
    ipv4_prefix: int = Field(24, ge=0, le=32)
    ipv6_prefix: int = Field(48, ge=0, le=128)
    reject_non_global: bool = Field(True, description="dead-letter private, loopback, reserved, multicast IPs "
                                                      "(pipeline/operators/ip_special.py lists them)")


def network_prefix(address: ipaddress.IPv4Address | ipaddress.IPv6Address, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """`address` with the host bits zeroed, as "network/prefix" (what ip_network(strict=False) prints)."""
    if address.version == 4:
        value = int(address) & ((0xFFFFFFFF << (32 - ipv4_prefix)) & 0xFFFFFFFF)
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}/{ipv4_prefix}"
    return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))


# --- Column-at-a-time IPv4 -------------------------------------------------------------------------------------
# Plain dotted quads (most client IPs) are parsed, classified and printed for a whole column with numpy;
# anything else (IPv6, surrounding spaces, odd forms) goes through parse_ip, which stays the reference.

_WIDTH = 16  # bytes examined per string; a dotted quad has at most 15
_PAD = 1 << 30  # shuffle index past every row: np.take(mode="clip") reads the trailing "0" sentinel


def _layouts() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Lookup tables for the 81 dotted-quad shapes (each octet 1–3 digits).

    A shape is keyed by a bit per dot position plus a bit at the string's length. For each shape: where to read
    each octet's digits right-aligned into three (hundreds, tens, units; padding reads "0"), and the bit of
    every multi-digit octet's first digit (a leading zero there is refused, as ipaddress refuses it).
    Every other key maps to the extra last shape, which reads only padding.
    """
    shapes, digits, leads = [], [], []
    for sizes in itertools.product((1, 2, 3), repeat=4):
        position, key, order, lead = 0, 0, [], 0
        for size in sizes:
            order += [_PAD] * (3 - size) + list(range(position, position + size))
            lead |= (1 << position) if size > 1 else 0
            position += size
            key |= 1 << position  # the dot after the octet, or the end of the string
            position += 1
        shapes.append(key)
        digits.append(order)
        leads.append(lead)
    none = len(shapes)
    by_key = np.full(1 << _WIDTH, none, dtype=np.int8)
    by_key[shapes] = np.arange(none)
    digits.append([_PAD] * 12)
    leads.append(0)
    return by_key, np.array(digits, dtype=np.int64), np.array(leads, dtype=np.uint64), none


_SHAPE_BY_KEY, _DIGIT_ORDER, _LEADING_DIGITS, _NOT_A_QUAD = _layouts()
_PLACE_VALUES = np.kron(np.eye(4, dtype=np.float32), np.array([[100], [10], [1]], dtype=np.float32))  # (12, 4)
_GATHER_BITS = np.uint64(0x0102040810204080)  # multiplying 8 bytes of 0/1 gathers them into the top byte


def _bits(mask: np.ndarray) -> np.ndarray:
    """(n, 16) bool → n ints with bit j set where column j is True."""
    top_bytes = (mask.view("<u8").ravel() * _GATHER_BITS) >> np.uint64(56)
    return top_bytes.astype(np.uint8).view("<u2").astype(np.uint64)


def parse_dotted_quads(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(rows that are plain dotted quads, their addresses as uint32) for a string column.

    A row counts exactly when parse_ipv4_int accepts it: four ASCII-decimal octets of 1–3 digits, each at most
    255, no leading zero, nothing else (not even spaces). Other rows are False with address 0.
    """
    size = len(strings)
    _, offset_buffer, data_buffer = strings.buffers()
    if size == 0 or offset_buffer is None:
        return np.zeros(size, dtype=bool), np.zeros(size, dtype=np.uint32)
    offsets = np.frombuffer(offset_buffer, np.int32, size + 1, strings.offset * 4)
    first, end = int(offsets[0]), int(offsets[-1])
    data = np.zeros(end - first + _WIDTH, dtype=np.uint8)  # zero tail: every row's window stays in bounds
    if end > first:
        data[:end - first] = np.frombuffer(data_buffer, np.uint8, end - first, first)
    windows = np.lib.stride_tricks.as_strided(data, (end - first + 1, _WIDTH), (1, 1), writeable=False)
    flat = np.empty(size * _WIDTH + 1, dtype=np.uint8)
    chars = flat[:-1].reshape(size, _WIDTH)
    chars[:] = windows[offsets[:-1] - first]
    flat[-1] = ord("0")
    lengths = np.diff(offsets)
    fits = lengths < _WIDTH
    end_bit = np.left_shift(1, np.where(fits, lengths, 0)).astype(np.uint64)
    within = end_bit - np.uint64(1)  # bits of the string's own bytes (the window runs on into the next row)
    dots = chars == ord(".")
    digits = (chars - np.uint8(ord("0"))) < 10
    shape = _SHAPE_BY_KEY[(_bits(dots) & within) | end_bit]
    plain = fits & (shape != _NOT_A_QUAD)
    plain &= (_bits(~(dots | digits)) & within) == 0
    plain &= (_bits(chars == ord("0")) & _LEADING_DIGITS[shape]) == 0
    if strings.null_count:
        plain &= strings.is_valid().to_numpy(zero_copy_only=False)
    shape[~plain] = _NOT_A_QUAD
    gather = _DIGIT_ORDER[shape] + (np.arange(size, dtype=np.int64) * _WIDTH)[:, None]
    digit_values = (np.take(flat, gather, mode="clip") - np.uint8(ord("0"))).astype(np.float32)
    octets = digit_values @ _PLACE_VALUES  # exact: integers below 1000
    if octets.max(initial=0) > 255:
        plain &= (octets <= 255).all(axis=1)
        octets[~plain] = 0
    addresses = octets.astype(np.uint8).view(">u4").ravel().astype(np.uint32)
    return plain, addresses


@functools.cache
def _non_global_ranges() -> tuple[np.ndarray, np.ndarray]:
    """(sorted range starts, rejected flag per range) covering all IPv4 addresses, as parse_ip judges them.

    The verdict is constant between two consecutive boundaries of ip_special's networks: ask parse_ip once per
    range, so the column path and the per-value path cannot disagree.
    """
    starts = ipv4_range_bounds()
    rejected = [isinstance(parse_ip(str(ipaddress.IPv4Address(s)), True), str) for s in starts]
    return np.array(starts, dtype=np.uint32), np.array(rejected, dtype=bool)


def non_global_ipv4(addresses: np.ndarray) -> np.ndarray:
    """Which uint32 addresses parse_ip rejects as private, loopback, reserved, multicast…"""
    starts, rejected = _non_global_ranges()
    return rejected[np.searchsorted(starts, addresses, side="right") - 1]


_OCTET_DIGITS = np.array([len(str(i)) for i in range(256)], dtype=np.uint8)


@functools.cache
def _octet_texts(prefix: int) -> np.ndarray:
    """Text of each octet as 8 little-endian bytes, NUL padded: "d." for octets 1–3, then "d/prefix" for octet 4."""
    texts = [f"{i}." for i in range(256)] + [f"{i}/{prefix}" for i in range(256)]
    return np.frombuffer(b"".join(t.encode().ljust(8, b"\0") for t in texts), dtype="<u8")


def format_ipv4_networks(addresses: np.ndarray, valid: np.ndarray, prefix: int) -> pa.Array:
    """ "a.b.c.d/prefix" of each address with host bits zeroed (network_prefix's text); null where not `valid`."""
    size = len(addresses)
    networks = addresses & np.uint32((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
    octets = networks.astype(">u4").view(np.uint8).reshape(size, 4)
    pieces = _octet_texts(prefix)[octets + np.array([0, 0, 0, 256])]  # (size, 4)
    digit_counts = _OCTET_DIGITS[octets].view("<u4").ravel()
    lengths = ((digit_counts * np.uint32(0x01010101)) >> np.uint32(24)).astype(np.int32) + (4 + len(str(prefix)))
    everything = valid.all()
    if not everything:
        pieces[~valid] = 0
        lengths[~valid] = 0
    offsets = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    text = pieces.tobytes().translate(None, b"\0")  # drop the padding: no octet text contains a NUL
    validity = None if everything else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.string(), size, [validity, pa.py_buffer(offsets), pa.py_buffer(text)],
                                 null_count=0 if everything else int(size - valid.sum()))


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

    def _truncate_many(self, texts: list[str]) -> list[tuple[str | None, str | None]]:
        """_truncate of each text: plain dotted quads a column at a time, everything else one by one."""
        if len(texts) < VECTORIZE_FROM:
            return [self._truncate(text) for text in texts]
        plain, addresses = parse_dotted_quads(pa.array(texts, type=pa.string()))
        rejected = plain & non_global_ipv4(addresses) if self.params.reject_non_global else np.zeros_like(plain)
        prefixes = format_ipv4_networks(addresses, plain & ~rejected, self.params.ipv4_prefix).to_pylist()
        return [(prefix, None) if prefix is not None else (None, NOT_GLOBAL) if refused else self._truncate(text)
                for text, prefix, refused in zip(texts, prefixes, rejected.tolist())]

    def apply(self, values: pa.Array, ctx: BatchContext) -> OperatorResult:
        uniques, indices = encode(as_strings(values))
        pairs = self._cache.lookup(uniques, self._truncate_many)
        # Two comprehensions, not zip(*pairs): that would hold one live iterator per value and set off the
        # garbage collector every batch.
        prefixes, reasons = [prefix for prefix, _ in pairs], [reason for _, reason in pairs]
        rejects = {}
        if any(reasons):
            row_reasons = pa.array(reasons, type=pa.string()).take(indices)
            rows = np.flatnonzero(row_reasons.is_valid().to_numpy(zero_copy_only=False))
            rejects = {row: (INVALID_IP, reason)
                       for row, reason in zip(rows.tolist(), row_reasons.drop_null().to_pylist())}
        return OperatorResult({self.output: pa.array(prefixes, type=pa.string()).take(indices)}, rejects)
