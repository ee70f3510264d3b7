"""Recognizers for free-text PII: Kazakhstan identifiers, contacts, cards and optional natasha NER."""

from .registry import DEFAULT_CONFIG_PATH, RecognizerSet, build_recognizers, load_config

__all__ = ["DEFAULT_CONFIG_PATH", "RecognizerSet", "build_recognizers", "load_config"]
