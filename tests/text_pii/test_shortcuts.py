"""The engine's shortcuts (lazy NLP artifacts, no context pass when every finding has the maximum score, only the
recognizers whose patterns match, called directly when no score needs context) change no output: compared with
Presidio's full pipeline on the evaluation corpus, the generator's texts and generated PII-like texts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.generate import TelemetryGenerator
from pipeline.text_pii import TextPiiEngine
from pipeline.text_pii.normalize import normalize

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


# Fragments near every recognizer's patterns (and their edges), glued with separators and context words, so
# generated texts hit each pattern, its look-arounds, validators and the context pass.
_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=20)
_FRAGMENTS = st.one_of(
    _DIGITS,
    st.builds(lambda a, b, c, d: f"+7 {a} {b}-{c}-{d}", st.sampled_from(["701", "777", "7172", "(701)"]),
              st.text("0123456789", min_size=3, max_size=3), st.text("0123456789", min_size=2, max_size=2),
              st.text("0123456789", min_size=2, max_size=2)),
    st.builds(lambda sep, groups: sep.join(groups), st.sampled_from([" ", "-", ""]),
              st.lists(st.text("0123456789", min_size=4, max_size=4), min_size=2, max_size=5)),
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", *[st.integers(0, 300)] * 4),
    st.sampled_from(["2001:db8::1", "fe80::1%eth0", "12:30:45", "::", "a:b:c:d:e:f:1:2"]),
    st.builds(lambda n: f"KZ{n}", st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ", min_size=4, max_size=24)),
    st.sampled_from(["user@mail.kz", "a.b@example.com", "x@y", "https://egov.kz/a?b=1.", "www.gov.kz",
                     "v1.2.3.4", "версия 10.0.0.1"]),
    st.sampled_from(["тел", "телефон", "иин", "бин", "карта", "iban", "ip", "звоните", "счёт", "нөмір", "заказ"]),
    st.text(max_size=8),
)
_TEXTS = st.lists(st.tuples(_FRAGMENTS, st.sampled_from([" ", ", ", ": ", "", "\n", ".", "/"])), max_size=8).map(
    lambda parts: "".join(f + sep for f, sep in parts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=_TEXTS, language=st.sampled_from(["ru", "kk"]))
def test_shortcuts_change_no_finding_on_generated_texts(engine, reference, text, language):
    assert findings(engine, text, language) == findings(reference, text, language)


def _own_prefilters_hide_nothing(engine: TextPiiEngine, text: str) -> list[str]:
    """Names of the recognizers that find something in `text` (as they see it) although their own pre-filter,
    which the engine uses to skip them, does not match it."""
    normalized = normalize(text).text
    return [wrapper.recognizer.name for language in engine._direct for wrapper in engine._direct[language]
            if wrapper.prefilter is not None and wrapper.prefilter.search(normalized) is None
            and wrapper.analyze(normalized)]


def test_each_recognizer_is_skipped_only_where_it_finds_nothing(engine):
    gated = {w.recognizer.name for ws in engine._direct.values() for w in ws if w.prefilter is not None}
    assert len(gated) >= 20  # every configured recognizer, in both languages
    assert [(t, _own_prefilters_hide_nothing(engine, t)) for t, _ in texts()
            if _own_prefilters_hide_nothing(engine, t)] == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=_TEXTS)
def test_each_recognizer_is_skipped_only_where_it_finds_nothing_on_generated_texts(engine, text):
    assert _own_prefilters_hide_nothing(engine, text) == []
