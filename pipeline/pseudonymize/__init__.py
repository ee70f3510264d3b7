"""Pseudonymize stage: validated events → policy-driven, column-wise de-identified Arrow batches."""
