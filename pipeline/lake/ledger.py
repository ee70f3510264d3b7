"""Which batch ids a lake zone already holds, per date partition: the sink's filter against replays.

A lake file's footer lists the batch ids whose rows it holds (`anonpipe.batch_ids`); per-message files of older
versions are named after their batch id; compaction records merged ids in the partition's manifest. Together
these say, without reading any rows, whether a message the sink is about to write is already on disk — also
when another worker wrote it before a rebalance or a crash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.common.columns import DATE_COLUMN

BATCH_IDS_KEY = b"anonpipe.batch_ids"
MANIFEST_NAME = "_compacted.json"  # written by pipeline.lake.compaction (which imports it from here)


def batch_ids_metadata(batch_ids) -> dict[bytes, bytes]:
    """Footer key-value metadata naming the batch ids a file holds."""
    return {BATCH_IDS_KEY: json.dumps(sorted(batch_ids), separators=(",", ":")).encode("utf-8")}


def batch_ids_digest(batch_ids, length: int) -> str:
    """Hex digest of a set of batch ids, independent of their order: names files after their contents."""
    return hashlib.sha1("\n".join(sorted(batch_ids)).encode("utf-8")).hexdigest()[:length]


def parse_manifest(raw: bytes | str) -> dict[str, list[str]]:
    """Compact file name → batch ids, from a compaction manifest's JSON; ValueError when it is not one."""
    data = json.loads(raw)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise ValueError("no 'files' mapping")
    return {str(name): [str(b) for b in ids] for name, ids in files.items()}


def batch_ids_in_footer(metadata: dict | None) -> set[str]:
    raw = (metadata or {}).get(BATCH_IDS_KEY)
    if not raw:
        return set()
    try:
        ids = json.loads(raw)
    except ValueError:
        return set()
    return {str(b) for b in ids} if isinstance(ids, list) else set()


@dataclass
class BatchLedger:
    """Batch ids held by one zone, read lazily per date partition and refreshed from listings.

    A file is read once per (name, size, mtime); files that vanish (compaction, retention) drop out, and the
    compaction manifest keeps what was merged.
    """

    filesystem: pafs.FileSystem
    zone_root: str
    _files: dict[str, tuple[tuple[int, int], frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def local(cls, zone_root) -> "BatchLedger":
        return cls(pafs.LocalFileSystem(), str(zone_root))

    def held(self, date_value) -> set[str]:
        """Every batch id with rows already durable in the `date_value` partition (a fresh listing)."""
        folder = f"{self.zone_root}/{DATE_COLUMN}={date_value}"
        infos = self.filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        held: set[str] = set()
        seen = set()
        for info in infos:
            name = info.base_name
            if info.type != pafs.FileType.File or name.startswith("."):
                continue  # temp files of in-flight writes are hidden dot-files
            if name == MANIFEST_NAME:
                held |= self._manifest_ids(info.path)
                continue
            if not name.endswith(".parquet") or name.startswith("_"):
                continue
            seen.add(info.path)
            signature = (info.size or 0, info.mtime_ns or 0)
            cached = self._files.get(info.path)
            if cached is None or cached[0] != signature:
                cached = self._files[info.path] = (signature, self._file_ids(info.path, name))
            held |= cached[1]
        for path in [p for p in self._files if p.startswith(folder + "/") and p not in seen]:
            del self._files[path]
        return held

    def _file_ids(self, path: str, name: str) -> frozenset[str]:
        try:
            footer = pq.read_metadata(path, filesystem=self.filesystem).metadata
        except (OSError, ValueError):
            footer = None  # vanished or being replaced: the next listing sees the new state
        # Files written before footers carried ids are named after their single batch id.
        return frozenset(batch_ids_in_footer(footer) | {name[: -len(".parquet")]})

    def _manifest_ids(self, path: str) -> set[str]:
        try:
            with self.filesystem.open_input_stream(path) as handle:
                files = parse_manifest(handle.read())
        except (OSError, ValueError):
            return set()  # unreadable: `anonpipe lake compact` reports it; rows are not lost, at worst re-added
        return {b for ids in files.values() for b in ids}
