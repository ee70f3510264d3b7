"""Differentially private release of a window's cells: person-level bounding, OpenDP noise, budget ledger."""
