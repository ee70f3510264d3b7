"""TextPiiEngine: actions, pseudonym format, overlap rule, pre-filter soundness, no per-call rebuild."""

import hashlib
import hmac

import pytest
import spacy
from presidio_analyzer.nlp_engine import NlpEngineProvider

from pipeline.text_pii.engine import Finding, resolve_overlaps

from .corpus import build_corpus

TEXT = "ИИН 900101300126, тел. +7 (701) 123-45-67, почта Ivan@Mail.kz"


def keyed(entity_type: str, value: str) -> str:
    """A stand-in for the pipeline's HMAC key ring."""
    return hmac.new(b"test-key", f"{entity_type}|{value}".encode(), hashlib.sha256).hexdigest()[:10]


def test_replace_writes_entity_type(engine):
    [out] = engine.anonymize_batch([TEXT], actions={"DEFAULT": "replace"})
    assert out == "ИИН <IIN>, тел. <PHONE>, почта <EMAIL>"


def test_default_action_is_replace(engine):
    assert engine.anonymize_batch([TEXT], actions={}) == engine.anonymize_batch([TEXT], actions={"DEFAULT": "replace"})


def test_redact_removes_span(engine):
    [out] = engine.anonymize_batch([TEXT], actions={"DEFAULT": "redact"})
    assert out == "ИИН , тел. , почта "


def test_per_type_actions_and_pseudonym_format(engine):
    [out] = engine.anonymize_batch(
        [TEXT], actions={"IIN": "pseudonymize", "PHONE": "redact", "DEFAULT": "replace"}, pseudonymize=keyed
    )
    assert out == f"ИИН <IIN:{keyed('IIN', '900101300126')}>, тел. , почта <EMAIL>"


def test_pseudonyms_use_canonical_values(engine):
    texts = ["звоните 8 701 123 45 67", "звоните +7 (701) 123-45-67", "пишите IVAN@mail.KZ", "пишите ivan@mail.kz"]
    out = engine.anonymize_batch(texts, actions={"DEFAULT": "pseudonymize"}, pseudonymize=keyed)
    assert out[0] == out[1] == f"звоните <PHONE:{keyed('PHONE', '+77011234567')}>"
    assert out[2] == out[3] == f"пишите <EMAIL:{keyed('EMAIL', 'ivan@mail.kz')}>"


def test_none_and_clean_texts_pass_through(engine):
    clean = "Спасибо, всё работает"
    out = engine.anonymize_batch([None, clean, "", "заказ 12345"], actions={})
    assert out == [None, clean, "", "заказ 12345"]


@pytest.mark.parametrize(
    "actions, pseudonymize, message",
    [
        ({"IIN": "hash"}, None, "unknown actions"),                 # not an action
        ({"IIN_NUMBER": "replace"}, None, "unknown entity types"),  # typo in an entity type
        ({"PHONE": "pseudonymize"}, None, "no pseudonymize"),      # pseudonymize without a callable
    ],
)
def test_bad_actions_are_rejected(engine, actions, pseudonymize, message):
    with pytest.raises(ValueError, match=message):
        engine.anonymize_batch([TEXT], actions=actions, pseudonymize=pseudonymize)


def test_ner_types_may_be_named_when_ner_is_off(engine):
    assert engine.anonymize_batch(["тест"], actions={"PERSON": "redact"}) == ["тест"]


def test_unknown_language_is_rejected(engine):
    with pytest.raises(ValueError, match="not configured"):
        engine.analyze(TEXT, language="en")


@pytest.mark.parametrize(
    "findings, kept",
    [
        # higher score wins over a longer span
        ([Finding("A", 0, 10, 0.6), Finding("B", 2, 5, 0.9)], [Finding("B", 2, 5, 0.9)]),
        # equal score: the longer span wins
        ([Finding("A", 0, 4, 0.8), Finding("B", 0, 10, 0.8)], [Finding("B", 0, 10, 0.8)]),
        # equal score and length: the earlier start wins
        ([Finding("B", 3, 8, 0.8), Finding("A", 0, 5, 0.8)], [Finding("A", 0, 5, 0.8)]),
        # touching spans do not overlap; output sorted by start
        ([Finding("B", 5, 9, 0.5), Finding("A", 0, 5, 0.9)], [Finding("A", 0, 5, 0.9), Finding("B", 5, 9, 0.5)]),
        # a winner removes both neighbours it overlaps, the loser's own neighbour survives
        (
            [Finding("A", 0, 4, 0.7), Finding("B", 3, 8, 1.0), Finding("C", 7, 12, 0.7), Finding("D", 12, 14, 0.2)],
            [Finding("B", 3, 8, 1.0), Finding("D", 12, 14, 0.2)],
        ),
    ],
)
def test_overlap_rule(findings, kept):
    assert resolve_overlaps(findings) == kept


def test_prefilter_never_hides_a_finding(engine):
    """Every text the pre-filter skips would have produced no finding anyway."""
    analyzer = engine._analyzer
    texts = [s.text for s in build_corpus(40, seed=7)] + ["Спасибо!", "без цифр и почты", "v1.2 ок"]
    for text in texts:
        if not engine.may_contain_pii(text):
            assert analyzer.analyze(text=text, language="ru", score_threshold=0.5) == []
    # A capital letter may start a name, so only texts without one (nor digits, @, ...) are skipped.
    assert not engine.may_contain_pii("спасибо, всё работает")


def test_batches_do_not_rebuild_the_analyzer(engine, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("model or NLP engine loaded during anonymize_batch")

    monkeypatch.setattr(spacy, "load", forbidden)
    monkeypatch.setattr(NlpEngineProvider, "create_engine", forbidden)
    texts = [s.text for s in build_corpus(20, seed=3)]
    assert len(engine.anonymize_batch(texts, actions={})) == len(texts)
    assert engine.anonymize_batch(texts, actions={"DEFAULT": "redact"}, language="kk")
