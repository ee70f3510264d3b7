"""Append-only audit trail under <data>/audit/: one JSON line per erasure, export, restricted query or extract."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import uuid
from pathlib import Path

from pipeline.lake.layout import AUDIT, ZONE_ACCESS, zone_root

ERASURE_LOG = "erasure.log"
ACCESS_LOG = "access.log"   # restricted-zone queries and subject-access exports
EXTRACT_LOG = "extract.log"


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def append_audit(data_dir: str | os.PathLike, log_name: str, entry: dict, now: dt.datetime | None = None,
                 mode: int | None = None) -> Path:
    """Append `entry` plus time, user and a random request id; fails (raises OSError) rather than skip the record.

    `mode` defaults to the audit zone's file mode (restricted readers may append query records); logs only the
    pipeline account writes (erasure) pass 0o600.

    Callers must never put an identifier, a pseudonym of a person being erased, or key material in `entry`.
    O_APPEND keeps concurrent writers' lines whole and never rewrites earlier lines.
    """
    folder = zone_root(data_dir, AUDIT)
    access = ZONE_ACCESS[AUDIT]
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, access.dir_mode)
    path = folder / log_name
    record = {"time": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
              "request_id": uuid.uuid4().hex, "user": _who(), **entry}
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    mode = access.file_mode if mode is None else mode
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, mode)
    try:
        owner = os.fstat(fd).st_uid
        if owner == os.getuid():
            os.fchmod(fd, mode)
        elif mode & 0o070 == 0:
            # An owner-only log created by another account (planted in the group-writable folder) is not ours.
            raise PermissionError(f"audit log {path} belongs to another account (uid {owner}); refusing to use it")
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_audit(data_dir: str | os.PathLike, log_name: str) -> list[dict]:
    path = zone_root(data_dir, AUDIT) / log_name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
