"""Atomic owner-only JSON files (key rings, erasure blocklists): 0600 before a byte is written, fsync, rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_private_json(path: str | os.PathLike, document, prefix: str, indent: int | None = None) -> None:
    """Write `document` as JSON to `path` so that no reader ever sees a partial file or a wider mode than 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        # The mode is set on the descriptor first: secret material never sits in a file others could open.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=indent)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
