"""`hmac_pseudonym`: keyed, per-epoch, per-domain HMAC-SHA256 pseudonyms; absent ids stay absent."""

import hashlib
import hmac

import pytest
from operators_support import T1, T2, run, two_epoch_ring


def expected_token(secret: bytes, domain: str, value: str, length: int = 16) -> str:
    # Independent recomputation from the documented construction (HMAC-SHA256 of "domain\0value").
    return hmac.new(secret, f"{domain}\x00{value}".encode(), hashlib.sha256).hexdigest()[:length]


@pytest.mark.parametrize("values, times, params", [
    (["u-1", "u-1", "u-2"], [T1, T1, T1], {}),                 # repeats in one epoch
    (["u-1", "u-1"], [T1, T2], {}),                            # same id across two epochs
    (["u-1", None, "u-3"], [T1, T2, T2], {"length": 32}),      # absent id, longer token
    (["x"], [T2], {"domain": "people"}),                       # explicit domain
])
def test_token_is_hmac_under_key_of_event_time(values, times, params):
    ring = two_epoch_ring()
    result = run("hmac_pseudonym", values, times=times, params=params, field_path="user_id", output="p")
    got = result.columns["p"].to_pylist()
    for value, time, token in zip(values, times, got):
        if value is None:
            assert token is None
            continue
        key = ring.keys[int(ring.key_index_for_times([time])[0])]
        assert token == expected_token(key.secret, params.get("domain", "user_id"), value, params.get("length", 16))
        assert value not in token


def test_epochs_give_different_tokens_and_domains_separate_spaces():
    tokens = run("hmac_pseudonym", ["u-1", "u-1"], times=[T1, T2], output="p").columns["p"].to_pylist()
    assert tokens[0] != tokens[1]
    a = run("hmac_pseudonym", ["same"], field_path="user_id", output="p").columns["p"].to_pylist()
    b = run("hmac_pseudonym", ["same"], field_path="device_id", output="p").columns["p"].to_pylist()
    assert a != b


def test_cache_never_serves_a_replaced_key():
    import numpy as np
    import pyarrow as pa
    from operators_support import EPOCH_1, EPOCH_2

    from pipeline.keys.ring import ACTIVE, Key, KeyRing
    from pipeline.operators.base import BatchContext
    from pipeline.operators.hmac_pseudonym import HmacPseudonym, HmacPseudonymParams
    op = HmacPseudonym("user_id", HmacPseudonymParams(), "p")
    out = []
    for secret in (b"\x05" * 32, b"\x06" * 32):  # same key id, new secret (ring reloaded)
        ring = KeyRing([Key("k", EPOCH_1, EPOCH_2, ACTIVE, secret)])
        times = np.array([T1], dtype=np.int64)
        out.append(op.apply(pa.array(["u-1"]), BatchContext(times, ring.key_index_for_times(times), ring))
                   .columns["p"].to_pylist()[0])
        assert out[-1] == expected_token(secret, "user_id", "u-1")
    assert out[0] != out[1]
