"""Explicit registry of hierarchy builders and the parsers for `COL=HIERARCHY` arguments and policy ladders.

A builder is a small module with:

* ``name``: the `kind` in `kind:params` specs and in the policy's ``kind:`` field;
* ``parse_params(text, defaults) -> dict``: validates the spec once (``defaults`` may carry
  ``time_zone``, the policy's zone);
* ``levels(params) -> int``: the number of levels between the value and the top `*`;
* ``generalize(values, level, params) -> np.ndarray``: the labels of non-null values at
  ``level`` (1 … ``levels(params)``), raising HierarchyError for a value it cannot generalize.

Every builder is value-wise, so the streaming release can generalize one batch at a time
(``HierarchySpec.generalize``) and the extract can materialize a whole tree over a column's
distinct values (``HierarchySpec.materialize``) from the same definition.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from pipeline.hierarchies import dates, districts, h3_cells, intervals, prefix, star
from pipeline.hierarchies.arx_csv import load_arx_csv
from pipeline.hierarchies.base import NULL_LEAF, STAR, Hierarchy, HierarchyError, build_from_levels, with_null_leaf

BUILDERS: dict[str, ModuleType] = {
    module.name: module for module in (intervals, dates, h3_cells, prefix, star, districts)
}


@dataclass(frozen=True)
class HierarchySpec:
    """A validated `COL=HIERARCHY` argument: an ARX CSV file or a `kind:params` builder spec."""

    column: str
    source: str  # the text after `=`, kept for reports
    path: Path | None = None  # ARX CSV file
    builder: str | None = None  # builder name in BUILDERS
    params: dict | None = field(default=None, compare=False)  # the builder's parsed parameters

    @property
    def height(self) -> int | None:
        """Levels above the leaf, the top `*` included (None for a file: known once it is loaded)."""
        return None if self.builder is None else BUILDERS[self.builder].levels(self.params) + 1

    def generalize(self, values: np.ndarray, level: int) -> np.ndarray:
        """Labels of ``values`` at ``level`` (0 = as given, height = `*`); nulls (NULL_LEAF) stay null below `*`."""
        values = np.asarray(values, dtype=object)
        if self.builder is None:
            hierarchy = _cached_file(self.path, self.column, self.path.stat().st_mtime_ns)
            return hierarchy.level_values(level)[hierarchy.level_codes(level)[_leaf_codes(hierarchy, values)]]
        if level == 0:
            return values
        if level >= self.height:
            return np.full(len(values), STAR, dtype=object)
        out = np.full(len(values), NULL_LEAF, dtype=object)
        present = values != NULL_LEAF
        if present.any():
            out[present] = BUILDERS[self.builder].generalize(values[present], level, self.params)
        return out

    def materialize(self, distinct_values: np.ndarray, null_leaf: bool = True) -> Hierarchy:
        """Load the file, or run the builder over the column's distinct values.

        With ``null_leaf`` (the default) a null (NULL_LEAF) is a leaf of its own: a file without
        an empty-leaf row gets one (null below `*`), so nulls need no hand-written row.
        """
        if self.path is not None:
            hierarchy = load_arx_csv(self.path, name=self.column)
            has_null = NULL_LEAF in set(np.asarray(distinct_values, dtype=object).tolist())
            return with_null_leaf(hierarchy) if null_leaf and has_null else hierarchy
        module = BUILDERS[self.builder]
        try:
            return build_from_levels(self.column, distinct_values,
                                     lambda values, level: module.generalize(values, level, self.params),
                                     module.levels(self.params))
        except HierarchyError as exc:
            raise HierarchyError(f"{self.builder} hierarchy for {self.column!r}: {exc}") from None


@functools.lru_cache(maxsize=32)
def _cached_file(path: Path, column: str, mtime_ns: int) -> Hierarchy:
    """A file hierarchy parsed once per batch caller (the modification time keys a changed file anew)."""
    return load_arx_csv(path, name=column)


def _leaf_codes(hierarchy: Hierarchy, values: np.ndarray) -> np.ndarray:
    import pandas as pd  # only the file path of `generalize` needs it; keeps builder imports light
    codes = pd.Index(hierarchy.leaves).get_indexer(values)
    if (codes < 0).any():
        raise HierarchyError(f"hierarchy {hierarchy.name!r} has no entry for {values[codes < 0][0]!r}")
    return codes


def parse_hierarchy_arg(argument: str, defaults: Mapping[str, str] | None = None) -> HierarchySpec:
    """Parse `COL=path.csv`, `COL=kind:params` or `COL=kind`; builder parameters are validated here, once.

    ``defaults`` carries what a spec may leave out, e.g. ``{"time_zone": "Asia/Almaty"}`` from the policy.
    """
    column, sep, source = argument.partition("=")
    column, source = column.strip(), source.strip()
    if not sep or not column or not source:
        raise HierarchyError(f"--qi {argument!r}: expected COL=HIERARCHY (a CSV file or e.g. interval:width=5,10)")
    kind, colon, params = source.partition(":")
    if kind in BUILDERS and (colon or not Path(source).is_file()):
        return builder_spec(column, kind, params, source, defaults)
    path = Path(source)
    if path.is_file():
        return HierarchySpec(column, source, path=path)
    if colon and not path.suffix:
        raise HierarchyError(f"--qi {argument!r}: unknown hierarchy kind {kind!r}; known: {', '.join(BUILDERS)}")
    raise HierarchyError(f"--qi {argument!r}: hierarchy file {source} does not exist")


def builder_spec(column: str, kind: str, params: str, source: str | None = None,
                 defaults: Mapping[str, str] | None = None) -> HierarchySpec:
    """A spec for builder ``kind`` with its parameter text validated."""
    if kind not in BUILDERS:
        raise HierarchyError(f"{column}: unknown hierarchy kind {kind!r}; known: {', '.join(BUILDERS)}")
    parsed = BUILDERS[kind].parse_params(params, defaults or {})
    return HierarchySpec(column, source or (f"{kind}:{params}" if params else kind), builder=kind, params=parsed)


def spec_from_policy(column: str, hierarchy, defaults: Mapping[str, str] | None = None) -> HierarchySpec:
    """The builder spec of a policy ladder (``kind`` plus its fields), so stream and extract share QI ladders.

    ``hierarchy`` is a policy ``Hierarchy`` model (or a mapping): ``kind: h3`` with ``resolutions``
    becomes `h3:7,6`; ``kind: star`` becomes `star`; another registered kind gets its remaining
    fields as `key=value` parameters.
    """
    fields = dict(hierarchy) if isinstance(hierarchy, Mapping) else hierarchy.model_dump()
    kind = fields.pop("kind")
    if kind == "h3":
        params = ",".join(str(r) for r in fields.get("resolutions", []))
    elif kind == "star":
        params = ""
    else:
        params = ";".join(f"{key}={value}" for key, value in fields.items() if value not in (None, [], {}))
    return builder_spec(column, kind, params, defaults=defaults)
