"""Explicit registry of hierarchy builders and the parser for `COL=HIERARCHY` arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from pipeline.hierarchies import dates, districts, h3_cells, intervals, prefix
from pipeline.hierarchies.arx_csv import load_arx_csv
from pipeline.hierarchies.base import Hierarchy, HierarchyError

BUILDERS: dict[str, ModuleType] = {module.name: module for module in (intervals, dates, h3_cells, prefix, districts)}


@dataclass(frozen=True)
class HierarchySpec:
    """A validated `COL=HIERARCHY` argument: an ARX CSV file or a `kind:params` builder spec."""

    column: str
    source: str  # the text after `=`, kept for reports
    path: Path | None = None  # ARX CSV file
    builder: str | None = None  # builder name in BUILDERS
    params: dict | None = None  # the builder's parsed parameters

    def materialize(self, distinct_values: np.ndarray) -> Hierarchy:
        """Load the file, or run the builder over the column's distinct values."""
        if self.path is not None:
            return load_arx_csv(self.path, name=self.column)
        return BUILDERS[self.builder].build(self.column, distinct_values, self.params)


def parse_hierarchy_arg(argument: str) -> HierarchySpec:
    """Parse `COL=path.csv` or `COL=kind:params`; builder parameters are validated here, once."""
    column, sep, source = argument.partition("=")
    column, source = column.strip(), source.strip()
    if not sep or not column or not source:
        raise HierarchyError(f"--qi {argument!r}: expected COL=HIERARCHY (a CSV file or e.g. interval:width=5,10)")
    kind, colon, params = source.partition(":")
    if colon and kind in BUILDERS:
        return HierarchySpec(column, source, builder=kind, params=BUILDERS[kind].parse_params(params))
    path = Path(source)
    if path.is_file():
        return HierarchySpec(column, source, path=path)
    if colon and not path.suffix:
        raise HierarchyError(f"--qi {argument!r}: unknown hierarchy kind {kind!r}; known: {', '.join(BUILDERS)}")
    raise HierarchyError(f"--qi {argument!r}: hierarchy file {source} does not exist")
