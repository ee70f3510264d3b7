"""Recognizers for free-text PII: KZ identifiers, phones, e-mails, cards, names, addresses, plates, documents, NER."""

from .registry import DEFAULT_CONFIG_PATH, RecognizerSet, build_recognizers, load_config

__all__ = ["DEFAULT_CONFIG_PATH", "RecognizerSet", "build_recognizers", "load_config"]
