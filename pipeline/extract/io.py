"""Extract I/O: read CSV (plain or gzip) / Parquet input, stage the output atomically, manifest, audit log."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

CSV_DELIMITERS = (";", ",")
MANIFEST = "manifest.json"


class ExtractIOError(ValueError):
    """The input cannot be read or the output cannot be written."""


def is_gzip(path: Path) -> bool:
    """gzip files start with the magic bytes 1f 8b."""
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def detect_delimiter(path: Path) -> str:
    """Pick `;` or `,`: whichever occurs more often in the header line (ARX exports use `;`)."""
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        raise ExtractIOError(f"{path}: cannot find a ';' or ',' delimiter in the header line")
    return delimiter


def is_parquet(path: Path) -> bool:
    """Parquet files start with the magic bytes PAR1."""
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file, or a CSV (gzip-compressed or not) with every column as text.

    CSV cells stay text so they match hierarchy files verbatim; compression is detected by
    content, not by the file name.
    """
    path = Path(path)
    if not path.is_file():
        raise ExtractIOError(f"input {path} does not exist")
    try:
        if is_parquet(path):
            return pq.read_table(path).to_pandas()
        return pd.read_csv(path, sep=detect_delimiter(path), dtype=str, keep_default_na=False,
                           encoding="utf-8-sig", compression="gzip" if is_gzip(path) else None)
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        if isinstance(exc, ExtractIOError):
            raise
        raise ExtractIOError(f"cannot read {path}: {exc}") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_output_dir(out: Path) -> None:
    """Refuse to overwrite: the output directory must not exist, or be empty."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExtractIOError(f"output {out} already exists and is not an empty directory")


@contextlib.contextmanager
def staged_output_dir(out: Path):
    """Yield a temporary directory beside ``out`` and rename it to ``out`` only on success.

    The rename is atomic on one filesystem, so a reader never sees a partial extract; on any
    error the temporary directory is removed and ``out`` is left untouched.
    """
    out = Path(out)
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield staging
        if out.exists():
            out.rmdir()  # empty, checked above
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_manifest(directory: Path) -> Path:
    """Write manifest.json listing the sha256 and size of every other file in the directory."""
    files = {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(directory.iterdir()) if p.is_file() and p.name != MANIFEST
    }
    path = directory / MANIFEST
    path.write_text(json.dumps({"files": files}, indent=2) + "\n", encoding="utf-8")
    return path


def append_audit_entry(log_path: Path, entry: dict) -> None:
    """Append one JSON line; O_APPEND keeps concurrent writers' lines whole, fsync makes it durable."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
