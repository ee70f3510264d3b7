"""Pseudonymization key ring: keyed HMAC pseudonyms with per-epoch keys (rotation, retirement, crypto-shredding)."""
