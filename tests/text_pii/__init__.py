"""Tests for pipeline.text_pii."""
