"""Parquet lake: zones of hive-partitioned files written atomically at commit points."""
