"""Deployment privacy policy: one declarative, validated YAML file (fields → operators, k, windows, keys, retention)."""
