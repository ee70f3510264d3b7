"""The ingest blocklist check agrees with a plain set lookup on any batch (its prefix filter never misses)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.lake.blocklist import BlockEntry, BlockIndex

KEYS = ["k1", "k2"]
values = st.one_of(st.text(alphabet="0123456789abcdefABCDEF", min_size=0, max_size=18), st.text(max_size=6),
                   st.none())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(["user_pseudonym", "device_pseudonym"]),
                          values.filter(lambda v: v is not None)), max_size=30),
       st.lists(st.tuples(st.sampled_from(KEYS + [None]), values, values), max_size=60),
       st.integers(0, 3), st.data())
def test_index_matches_a_plain_set_lookup(blocked, rows, shift, data):
    entries = [BlockEntry(k, c, v, "2099-01-01T00:00:00+00:00") for k, c, v in blocked]
    # Reuse blocked values in the batch often, so hits are common.
    rows = [(k, data.draw(st.sampled_from([u] + [v for _, _, v in blocked])) if blocked else u, d)
            for k, u, d in rows]
    pad = [("k1", "ffff", "ffff")] * shift
    table = pa.table({"key_id": [r[0] for r in pad + rows], "user_pseudonym": [r[1] for r in pad + rows],
                      "device_pseudonym": [r[2] for r in pad + rows]}).slice(shift)
    wanted = {(k, c, v) for k, c, v in blocked}
    expected = [(k, "user_pseudonym", u) in wanted or (k, "device_pseudonym", d) in wanted for k, u, d in rows]
    assert BlockIndex(entries).mask(table).tolist() == expected
