"""Shared vocabulary every stage imports downward: event contract, event record, column names, reject codes, wire."""
