"""Telemetry anonymization pipeline: validate → pseudonymize → k-anonymize → Parquet lake → extracts."""

__version__ = "0.1.0"
