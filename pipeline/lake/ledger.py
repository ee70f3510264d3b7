"""Which source ranges and batch ids a lake zone holds, per date partition: the sink's filter against replays.

A lake file's footer lists what it holds (`anonpipe.batch_ids`): range ids naming the source positions of its
rows, merged per stream (pipeline/positions.py), or whole batch ids (k-anonymity releases, older versions);
per-message files of older versions are named after their batch id; compaction records merged ids in the
partition's manifest. Together these say, without reading any rows, which rows a message the sink is about to
write are already on disk — also when another worker wrote them before a rebalance or a crash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.common.columns import DATE_COLUMN
from pipeline.common.positions import HeldPositions

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
class _Folder:
    """One date partition's files (path → (signature, ids)), and everything they hold, merged."""

    files: dict[str, tuple[tuple[int, int], frozenset[str]]] = field(default_factory=dict)
    manifest: tuple[tuple[int, int], frozenset[str]] | None = None
    held: HeldPositions = field(default_factory=lambda: HeldPositions({}, set()))


@dataclass
class BatchLedger:
    """Source ranges and batch ids held by one zone, read lazily per date partition and refreshed from listings.

    A file's footer is read once per (name, size, mtime); a new file's ids are merged into what the partition
    holds, and a file that vanished or changed (compaction, retention) makes the partition's ranges be merged
    again from the files listed. What is held is a few ranges per source stream, not a set of events.
    """

    filesystem: pafs.FileSystem
    zone_root: str
    _folders: dict[str, _Folder] = field(default_factory=dict)

    @classmethod
    def local(cls, zone_root) -> "BatchLedger":
        return cls(pafs.LocalFileSystem(), str(zone_root))

    def held(self, date_value) -> HeldPositions:
        """Every source range and batch id with rows already durable in the `date_value` partition."""
        folder_path = f"{self.zone_root}/{DATE_COLUMN}={date_value}"
        folder = self._folders.setdefault(folder_path, _Folder())
        infos = self.filesystem.get_file_info(pafs.FileSelector(folder_path, allow_not_found=True))
        seen = set()
        rebuild = False
        added: list[frozenset[str]] = []
        manifest = None
        for info in infos:
            name = info.base_name
            if info.type != pafs.FileType.File or name.startswith("."):
                continue  # temp files of in-flight writes are hidden dot-files
            signature = (info.size or 0, info.mtime_ns or 0)
            if name == MANIFEST_NAME:
                manifest = folder.manifest
                if manifest is None or manifest[0] != signature:
                    manifest = (signature, frozenset(self._manifest_ids(info.path)))
                    rebuild = True
                continue
            if not name.endswith(".parquet") or name.startswith("_"):
                continue
            seen.add(info.path)
            cached = folder.files.get(info.path)
            if cached is None or cached[0] != signature:
                rebuild = rebuild or cached is not None
                cached = folder.files[info.path] = (signature, self._file_ids(info.path, name))
                added.append(cached[1])
        if folder.manifest is not None and manifest is None:
            rebuild = True
        folder.manifest = manifest
        for path in [p for p in folder.files if p not in seen]:
            del folder.files[path]
            rebuild = True
        if rebuild:
            folder.held = HeldPositions.from_ids(folder.manifest[1] if folder.manifest else ())
            for _, ids in folder.files.values():
                folder.held.update(HeldPositions.from_ids(ids))
        else:
            for ids in added:
                folder.held.update(HeldPositions.from_ids(ids))
        return folder.held

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
