"""The engine's shortcuts (lazy NLP artifacts, no context pass when every finding has the maximum score) change
no output: compared with Presidio's full pipeline on the evaluation corpus and the generator's texts."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.generate import TelemetryGenerator
from pipeline.text_pii import TextPiiEngine

from .corpus import build_corpus


@pytest.fixture(scope="module")
def reference(spacy_cache_dir) -> TextPiiEngine:
    return TextPiiEngine.from_config(shortcuts=False)


def texts() -> list[tuple[str, str]]:
    corpus = [(s.text, s.language) for s in build_corpus(n_per_language=150, sentences_per_text=2)]
    corpus += [(s.text, s.language) for s in build_corpus(n_per_language=100, seed=7)]
    end = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    generated = {e["text"] for e in TelemetryGenerator(7, end=end).events(6000) if e.get("text")}
    return corpus + [(text, "ru") for text in sorted(generated)]


def findings(engine: TextPiiEngine, text: str, language: str) -> list[tuple]:
    return [(f.entity_type, f.start, f.end, f.score) for f in engine.analyze(text, language)]


def test_shortcuts_change_no_finding(engine, reference):
    cases = texts()
    assert len(cases) > 500
    differing = [(t, lang) for t, lang in cases if findings(engine, t, lang) != findings(reference, t, lang)]
    assert differing == []


def test_shortcuts_change_no_anonymized_text(engine, reference):
    batch = [t for t, lang in texts() if lang == "ru"]
    actions = {"DEFAULT": "replace", "IIN": "pseudonymize", "PHONE": "pseudonymize", "EMAIL": "pseudonymize"}

    def token(entity_type: str, value: str) -> str:
        return f"{entity_type}:{value}"
    assert engine.anonymize_batch(batch, actions=actions, pseudonymize=token) == \
        reference.anonymize_batch(batch, actions=actions, pseudonymize=token)


def test_context_still_lifts_low_scores(engine):
    # An unprefixed mobile number scores 0.4: kept only with a context word, so the context pass must still run.
    assert [f.entity_type for f in engine.analyze("звоните 701 123 45 67", "ru")] == ["PHONE"]
    assert engine.analyze("заказ 701 123 45 67", "ru") == []
