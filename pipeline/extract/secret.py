"""The re-keying secret of an extract: its environment variable and how it is read (light: the CLI imports it)."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_ENV = "ANONPIPE_EXTRACT_SECRET"


def load_secret(secret_file: Path | None) -> bytes | None:
    """The re-keying secret from --secret-file, else the environment; its value is never echoed."""
    from pipeline.extract.rekey import RekeyError  # local: rekey imports pandas, and the CLI imports this module
    if secret_file is not None:
        try:
            return secret_file.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise RekeyError(f"cannot read --secret-file {secret_file}: {exc.strerror}") from exc
    value = os.environ.get(SECRET_ENV)
    return value.encode("utf-8") if value else None
