"""Resilience helpers of the worker: wait for the broker with backoff, report broker state changes once each."""
