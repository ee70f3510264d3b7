"""Generalization hierarchies: the ARX CSV loader and the interval/date/H3/prefix builders."""

from pipeline.hierarchies.arx_csv import load_arx_csv
from pipeline.hierarchies.base import Hierarchy, HierarchyError
from pipeline.hierarchies.registry import BUILDERS, HierarchySpec, parse_hierarchy_arg

__all__ = ["BUILDERS", "Hierarchy", "HierarchyError", "HierarchySpec", "load_arx_csv", "parse_hierarchy_arg"]
