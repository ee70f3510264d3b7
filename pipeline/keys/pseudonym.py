"""Keyed HMAC-SHA256 pseudonyms, computed once per distinct value of a batch column."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


def pseudonym(secret: bytes, domain: str, value: str, length: int) -> str:
    """Hex HMAC-SHA256 of `domain \\0 value` truncated to `length` hex chars.

    The domain (field or entity name) separates pseudonym spaces so the same string in two fields does not
    produce the same token.
    """
    return hmac.digest(secret, f"{domain}\x00{value}".encode(), "sha256").hex()[:length]


def pseudonym_list(secret: bytes, domain: str, values: Iterable[str], length: int) -> list[str]:
    """Pseudonyms of `values`, in order (same result as `pseudonym` per value)."""
    # The key and the domain prefix are absorbed once; copying the keyed state is ~1.5x faster per value than
    # a fresh hmac.digest (stdlib HMAC, not a hand-written one).
    keyed = hmac.new(secret, f"{domain}\x00".encode(), "sha256")
    # The OpenSSL HMAC object the stdlib wrapper delegates to, when it does: copying it directly skips two
    # Python-level wrapper calls per value (~0.9 → 0.65 µs); the same copy/update/hexdigest either way.
    keyed = getattr(keyed, "_hmac", None) or keyed
    out = []
    append = out.append
    for value in values:
        digest = keyed.copy()
        digest.update(value.encode("utf-8"))
        append(digest.hexdigest()[:length])
    return out


def pseudonym_map(secret: bytes, domain: str, values: Iterable[str], length: int) -> dict[str, str]:
    """Pseudonyms of the distinct values given."""
    distinct = list(set(values))
    return dict(zip(distinct, pseudonym_list(secret, domain, distinct, length)))
