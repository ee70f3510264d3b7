"""Streaming k-anonymity aggregation: windowed cell counts released only with ≥ k distinct subjects."""
