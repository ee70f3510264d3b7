"""Generalization hierarchies: the ARX CSV loader and the interval/date/H3/prefix/star builders."""

from pipeline.hierarchies.arx_csv import load_arx_csv
from pipeline.hierarchies.base import NULL_LEAF, STAR, Hierarchy, HierarchyError
from pipeline.hierarchies.registry import BUILDERS, HierarchySpec, builder_spec, parse_hierarchy_arg, spec_from_policy

__all__ = ["BUILDERS", "NULL_LEAF", "STAR", "Hierarchy", "HierarchyError", "HierarchySpec", "builder_spec",
           "load_arx_csv", "parse_hierarchy_arg", "spec_from_policy"]
