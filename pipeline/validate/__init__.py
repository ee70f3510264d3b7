"""Validate stage: raw envelopes → schema-valid events and dead-letter rejects."""
