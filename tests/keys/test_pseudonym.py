"""Batch pseudonyms (one keyed HMAC state copied per value) equal HMAC-SHA256 as hmac.digest computes it."""

from __future__ import annotations

import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.keys.pseudonym import pseudonym, pseudonym_list, pseudonym_map


@settings(max_examples=300, deadline=None)
@given(secret=st.binary(max_size=150), domain=st.text(max_size=20), values=st.lists(st.text(max_size=300), max_size=8),
       length=st.integers(1, 64))
def test_pseudonym_list_is_hmac_sha256(secret, domain, values, length):
    expected = [hmac.digest(secret, f"{domain}\x00{v}".encode(), "sha256").hex()[:length] for v in values]
    assert pseudonym_list(secret, domain, values, length) == expected
    assert [pseudonym(secret, domain, v, length) for v in values] == expected


def test_pseudonym_map_keys_distinct_values():
    secret = b"k" * 32
    assert pseudonym_map(secret, "user_id", ["a", "b", "a"], 16) == {
        "a": pseudonym(secret, "user_id", "a", 16), "b": pseudonym(secret, "user_id", "b", 16)}
