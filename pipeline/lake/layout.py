"""Where each zone of the lake lives under the data dir, who may read it, and how file names derive from batch ids."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PSEUDONYMIZED = "pseudonymized"
AGGREGATES = "aggregates"
WINDOW_STATS = "window_stats"
PEOPLE = "people"  # daily and monthly distinct people (pipeline/lake/people_release.py), shareable
ZONES = (PSEUDONYMIZED, AGGREGATES, WINDOW_STATS, PEOPLE)
DLQ = "dlq"
AUDIT = "audit"
ERASURE = "erasure"  # the ingest blocklist of erased people's pseudonyms
# Zones an analyst without access to per-person rows may read: only k-anonymous releases and window statistics.
SHAREABLE_ZONES = (AGGREGATES, WINDOW_STATS, PEOPLE)
RESTRICTED_ZONES = (PSEUDONYMIZED,)
# Erasure caps a linked person at this many distinct user, device and cookie identifiers per key epoch (here, not
# in person.py, so that the CLI can show it without importing numpy and pyarrow).
DEFAULT_MAX_COMPONENT = 20
# Batch ids come from source offsets (e.g. "r003-0000000000000012345-p1"); only these chars reach file names.
_SAFE_BATCH_ID = re.compile(r"^[A-Za-z0-9_.-]{1,160}$")


def zone_dir(data_dir: str | os.PathLike, zone: str) -> Path:
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
    return Path(data_dir) / "lake" / zone


def dlq_dir(data_dir: str | os.PathLike) -> Path:
    """Restricted zone: raw rejected events (may hold personal data), mode 0700, short retention."""
    return Path(data_dir) / "dlq"


@dataclass(frozen=True)
class ZoneAccess:
    """Who may read a zone. The file system (or the object store's per-prefix policy) is the real boundary:
    anyone who can open a Parquet file can read it with any tool, so each audience gets its own group."""

    audience: str          # "shareable" | "restricted" | "operator"
    group_env: str | None  # environment variable naming the Unix group of readers (None: owner only)
    dir_mode: int          # zone root and its partition folders (setgid: new files inherit the group)
    file_mode: int
    group_files: tuple[str, ...] | None = None  # when set, only these files get file_mode; others are 0600

    def mode_for(self, file_name: str) -> int:
        return self.file_mode if self.group_files is None or file_name in self.group_files else 0o600


SHAREABLE, RESTRICTED, OPERATOR = "shareable", "restricted", "operator"
ZONE_ACCESS: dict[str, ZoneAccess] = {
    AGGREGATES: ZoneAccess(SHAREABLE, "ANONPIPE_SHAREABLE_GROUP", 0o2750, 0o640),
    WINDOW_STATS: ZoneAccess(SHAREABLE, "ANONPIPE_SHAREABLE_GROUP", 0o2750, 0o640),
    PEOPLE: ZoneAccess(SHAREABLE, "ANONPIPE_SHAREABLE_GROUP", 0o2750, 0o640),
    PSEUDONYMIZED: ZoneAccess(RESTRICTED, "ANONPIPE_RESTRICTED_GROUP", 0o2750, 0o640),
    # Raw rejected events: the pipeline's own account only.
    DLQ: ZoneAccess(OPERATOR, None, 0o700, 0o600),
    # Audit trail: restricted readers append their query records (group write, no read); the sticky bit stops
    # them from deleting or renaming the pipeline's files, and logs owned by another account are refused.
    AUDIT: ZoneAccess(OPERATOR, "ANONPIPE_RESTRICTED_GROUP", 0o3730, 0o620, group_files=("access.log",)),
    ERASURE: ZoneAccess(OPERATOR, None, 0o700, 0o600),
}


def zone_root(data_dir: str | os.PathLike, zone: str) -> Path:
    """Root folder of any zone in ZONE_ACCESS (lake zones, the DLQ, the audit trail)."""
    if zone == DLQ:
        return dlq_dir(data_dir)
    if zone in (AUDIT, ERASURE):
        return Path(data_dir) / zone
    return zone_dir(data_dir, zone)


def object_store_prefix(root: str, zone: str) -> str:
    """Object-store prefix of a lake zone: one prefix per zone so bucket policies can grant them separately."""
    if zone not in ZONES:
        raise ValueError(f"unknown lake zone {zone!r}")
    return f"{root.rstrip('/')}/lake/{zone}"


def batch_file_name(batch_id: str, suffix: str = ".parquet") -> str:
    if not _SAFE_BATCH_ID.match(batch_id):
        raise ValueError(f"batch id {batch_id!r} has characters not allowed in a file name")
    return f"{batch_id}{suffix}"
