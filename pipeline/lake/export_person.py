"""Subject-access export (`anonpipe export-person`): everything held under a person's linked pseudonyms.

Written to a new folder (0700, files 0600): `pseudonymized.parquet` (their rows from every lake searched),
`dead_letters.ndjson` (rejected raw events carrying their identifiers), `summary.json` (what was searched, what
linkage added, groups left out by the cap). The anonymous zones (aggregates, window_stats) hold no per-person
rows and are not part of an export. The request is audited in audit/access.log, without ids or pseudonyms.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.keys.ring import KeyRing
from pipeline.lake.audit import ACCESS_LOG, append_audit
from pipeline.lake.erasure import mentions_identifier
from pipeline.lake.layout import dlq_dir
from pipeline.lake.person import DEFAULT_MAX_COMPONENT, PersonError, local_and_remote, resolve


def _private_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def export_person(data_dir: str | os.PathLike, ring: KeyRing, identifiers: Mapping[str, str],
                  fields: Mapping[str, tuple[str, int]], out: Path, lake_url: str | None = None,
                  max_component: int = DEFAULT_MAX_COMPONENT) -> dict:
    out = Path(out)
    if out.exists():
        raise PersonError(f"{out} already exists; give a new folder")
    sources = local_and_remote(data_dir, lake_url)
    person = resolve(sources, ring, identifiers, fields, max_component)
    parts = []
    for source in sources:
        for path in source.files():
            table = source.read(path)
            mask = person.mask(table)
            if mask.any():
                parts.append(table.filter(pa.array(mask)))
    quoted = [json.dumps(str(v)).encode() for v in identifiers.values()]
    dead = [line for path in sorted(dlq_dir(data_dir).rglob("*.ndjson")) if not path.name.startswith(".")
            for line in path.read_bytes().splitlines(keepends=True) if mentions_identifier(line, quoted)]
    out.mkdir(mode=0o700, parents=True)
    rows = 0
    if parts:
        table = pa.concat_tables(parts, promote_options="default")
        rows = table.num_rows
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        _private_file(out / "pseudonymized.parquet", sink.getvalue().to_pybytes())
    _private_file(out / "dead_letters.ndjson", b"".join(dead))
    summary = {"rows": rows, "dlq_lines": len(dead), "sources": [s.label for s in sources],
               "keys_checked": person.keys_checked, "linked_pseudonyms_per_column": person.linked_counts(),
               "oversized_components_left": [vars(o) for o in person.oversized],
               "not_included": "aggregates and window_stats: k-anonymous counts, no per-person rows"}
    _private_file(out / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    append_audit(data_dir, ACCESS_LOG, {"action": "export-person", "rows": rows, "dlq_lines": len(dead),
                                        "keys_checked": person.keys_checked, "sources": summary["sources"]})
    return summary
