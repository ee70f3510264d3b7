"""Re-keying of pseudonym columns with HMAC-SHA256: a one-off key per extract, or a stable per-recipient key."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import numpy as np
import pandas as pd

_DERIVATION_LABEL = b"anonpipe/extract/rekey/v1\x00"
MIN_SECRET_BYTES = 16


class RekeyError(ValueError):
    """The re-keying secret is missing or too weak."""


def recipient_key(secret: bytes, recipient: str) -> bytes:
    """Derive the recipient's key: HMAC-SHA256(secret, label || recipient).

    Two recipients get unrelated keys, so the same pseudonym re-keys to different values in
    their extracts and they cannot join them; without the secret the key cannot be derived.
    """
    if len(secret) < MIN_SECRET_BYTES:
        raise RekeyError(f"the re-keying secret must be at least {MIN_SECRET_BYTES} bytes")
    if not recipient:
        raise RekeyError("re-keying needs a --recipient name")
    return hmac.new(secret, _DERIVATION_LABEL + recipient.encode("utf-8"), hashlib.sha256).digest()


def one_off_key() -> bytes:
    """A fresh random key for one extract (the default): two extracts, even to one recipient, do not join.

    It is never stored or printed, so nobody — us included — can re-derive or link its pseudonyms later.
    """
    return secrets.token_bytes(32)


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key, for reports and audit logs (reveals nothing usable)."""
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:16]


def rekey_column(values: pd.Series, key: bytes) -> pd.Series:
    """Replace every non-null value by hex(HMAC-SHA256(key, str(value))); nulls stay null."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # The trailing None is what the null sentinel code -1 picks.
    digests = np.array([hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest() for v in uniques]
                       + [None], dtype=object)
    return pd.Series(digests[codes], index=values.index, dtype=object)
