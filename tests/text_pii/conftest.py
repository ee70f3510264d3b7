"""Shared fixtures: one pattern-only engine per session, built in a private spaCy cache dir."""

from __future__ import annotations

import os

import pytest

from pipeline.text_pii import TextPiiEngine
from pipeline.text_pii.recognizers.natasha_ner import natasha_available

requires_natasha = pytest.mark.skipif(not natasha_available(), reason="natasha (extra 'ner') not installed")


@pytest.fixture(scope="session")
def spacy_cache_dir(tmp_path_factory):
    """A fresh ANONPIPE_CACHE_DIR, so tests exercise first-use pipeline creation."""
    path = tmp_path_factory.mktemp("anonpipe-cache")
    previous = os.environ.get("ANONPIPE_CACHE_DIR")
    os.environ["ANONPIPE_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("ANONPIPE_CACHE_DIR", None)
    else:
        os.environ["ANONPIPE_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def engine(spacy_cache_dir) -> TextPiiEngine:
    return TextPiiEngine.from_config()


def spans(engine: TextPiiEngine, text: str, language: str = "ru") -> list[tuple[str, str]]:
    """(entity type, matched text) for each finding, in text order."""
    return [(f.entity_type, text[f.start:f.end]) for f in engine.analyze(text, language)]
