"""Load ARX's CSV hierarchy format: one row per leaf, one `;`-separated column per level."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pipeline.hierarchies.base import Hierarchy, HierarchyError


def load_arx_csv(path: str | Path, name: str | None = None, delimiter: str = ";") -> Hierarchy:
    """Read an ARX hierarchy file; every non-blank row must have the same number of columns."""
    path = Path(path)
    name = name or path.stem
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [(number, row) for number, row in enumerate(csv.reader(handle, delimiter=delimiter), 1)]
    except OSError as exc:
        raise HierarchyError(f"hierarchy {name!r}: cannot read {path}: {exc.strerror}") from exc
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise HierarchyError(f"hierarchy {name!r}: {path} has no rows")
    width = len(rows[0][1])
    for number, row in rows:
        if len(row) != width:
            raise HierarchyError(
                f"hierarchy {name!r}: {path} line {number} has {len(row)} columns, line "
                f"{rows[0][0]} has {width} (rows must have equal length)"
            )
    return Hierarchy(name, np.array([row for _, row in rows], dtype=object))
