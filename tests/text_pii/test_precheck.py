"""The regex pre-check (recognizers run with only their matching patterns) changes no result of Presidio's."""

from __future__ import annotations

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from presidio_analyzer import Pattern, PatternRecognizer

from pipeline.text_pii import TextPiiEngine
from pipeline.text_pii.engine import _PrecheckedRecognizer


@pytest.fixture(scope="module")
def reference_engine(spacy_cache_dir) -> TextPiiEngine:
    return TextPiiEngine.from_config(shortcuts=False)


def _digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


# Near-misses of every pattern matter as much as hits: a pre-check stricter than Presidio (other flags, a pattern
# left out) shows on a text one pattern matches and the others do not, or on a case variant (the flags ignore case).
_FRAGMENTS = st.one_of(
    _digits(1, 20),
    _digits(12, 12),
    st.builds(lambda prefix, code, a, b, c, sep: f"{prefix}{code}{sep}{a}{sep}{b}{sep}{c}",
              st.sampled_from(["+7 ", "+7", "8 ", "8", "7", ""]),
              st.sampled_from(["701", "(701)", "777", "7172", "(7172)", "123"]),
              _digits(3, 3), _digits(2, 2), _digits(2, 2), st.sampled_from([" ", "-", ""])),
    st.builds(lambda sep, groups: sep.join(groups), st.sampled_from([" ", "-", ""]),
              st.lists(_digits(4, 4), min_size=2, max_size=5)),
    st.builds(lambda a, b, c: f"{a} {b} {c}", _digits(4, 4), _digits(6, 6), _digits(5, 5)),
    st.builds(lambda kz, n: kz + n, st.sampled_from(["KZ", "kz", "Kz"]),
              st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef -", min_size=2, max_size=24)),
    st.builds(lambda a, b, c, d, tail: f"{a}.{b}.{c}.{d}{tail}", *[st.integers(0, 300)] * 4,
              st.sampled_from(["", "/24", ".5"])),
    st.sampled_from(["2001:db8::1", "FE80::1", "12:30:45", "::", "a:b:c:d:e:f:1:2", "2001:DB8:0:0:0:0:0:1"]),
    st.builds(lambda user, domain: f"{user}@{domain}", st.sampled_from(["user", "A.B", "x_1"]),
              st.sampled_from(["mail.kz", "EXAMPLE.COM", "y", "gov.kz."])),
    st.sampled_from(["https://egov.kz/a?b=1.", "HTTP://GOV.KZ", "WWW.gov.kz", "www.", "v1.2.3.4", "версия 10.0.0.1",
                     "тел", "иин", "бин", "карта", "iban", "ip", "звоните", "нөмір", "заказ", "Secret", "SECRET"]),
    st.text(max_size=8),
)
_TEXTS = st.lists(st.tuples(_FRAGMENTS, st.sampled_from([" ", ", ", ": ", "", "\n", ".", "/", "-", "("])),
                  max_size=8).map(lambda parts: "".join(f + sep for f, sep in parts))


def _results(results) -> list[tuple]:
    return sorted((r.entity_type, r.start, r.end, r.score) for r in results)


def _custom_recognizers() -> list[PatternRecognizer]:
    """Recognizers unlike the configured ones: a deny list, and flags other than Presidio's default."""
    return [
        PatternRecognizer(supported_entity="SECRET", deny_list=["Secret", "тел"], supported_language="ru"),
        PatternRecognizer(supported_entity="UPPER_KZ", patterns=[Pattern("kz", r"KZ\d{2}", 0.7),
                                                                 Pattern("digits", r"\d{4}", 0.3)],
                          global_regex_flags=regex.MULTILINE, supported_language="ru"),
    ]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=_TEXTS)
def test_precheck_returns_what_presidio_returns(engine, text):
    prechecked = [p for by_language in engine._direct.values() for p in by_language]
    prechecked += [_PrecheckedRecognizer(r) for r in _custom_recognizers()]
    for p in prechecked:
        expected = _results(p.recognizer.analyze(text=text, entities=None, nlp_artifacts=None))
        assert _results(p.analyze(text)) == expected, p.recognizer.name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXTS, min_size=1, max_size=5), language=st.sampled_from(["ru", "kk"]))
def test_engine_anonymizes_like_the_reference(engine, reference_engine, texts, language):
    actions = {"DEFAULT": "replace", "PHONE": "pseudonymize", "EMAIL": "redact"}

    def token(entity_type: str, value: str) -> str:
        return f"{entity_type}:{value}"
    assert engine.anonymize_batch(texts, actions=actions, pseudonymize=token, language=language) == \
        reference_engine.anonymize_batch(texts, actions=actions, pseudonymize=token, language=language)


def test_recognizer_without_a_match_is_not_called(monkeypatch):
    recognizer = PatternRecognizer(supported_entity="X", patterns=[Pattern("a", "alpha", 0.5),
                                                                  Pattern("b", "beta", 0.5)])
    prechecked = _PrecheckedRecognizer(recognizer)
    calls: list[list[str]] = []

    def spy(self, text, entities, nlp_artifacts=None, regex_flags=None):
        calls.append([pattern.name for pattern in self.patterns])
        return original(self, text, entities, nlp_artifacts, regex_flags)
    original = PatternRecognizer.analyze
    monkeypatch.setattr(PatternRecognizer, "analyze", spy)

    assert prechecked.analyze("gamma") == []
    assert calls == []
    assert _results(prechecked.analyze("a BETA b")) == [("X", 2, 6, 0.5)]
    assert calls == [["b"]]  # only the pattern that matches
    assert len(_results(prechecked.analyze("alpha beta"))) == 2
    assert calls[-1] == ["a", "b"]
