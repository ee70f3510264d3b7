"""The issue-16 targets on the appeal-forms corpus (eval_corpus/), scored on the outputs as an attacker reads them."""

import pytest

from .eval_corpus.build import FORMS, build, load
from .eval_corpus.score import evaluate

MIN_CLEANED = 0.99      # per form: share of texts with no personal token left
MIN_PRECISION = 0.95    # per entity type
MAX_CLEAN_ALTERED = 0.01


@pytest.fixture(scope="module")
def records():
    return load()


@pytest.fixture(scope="module")
def report(engine, records):
    return evaluate(records, lambda text: [(f.entity_type, f.start, f.end) for f in engine.analyze(text, "ru")],
                    lambda texts: engine.anonymize_batch(texts, actions={}, language="ru"))


def test_committed_corpus_is_what_the_script_builds(records):
    assert records == build()  # regenerate with: python -m tests.text_pii.eval_corpus.build


def test_corpus_is_big_enough_to_measure(report):
    assert set(report.forms) == set(FORMS)
    assert all(report.texts[form] >= 100 for form in FORMS)  # one miss in 100 already fails 0.99
    assert report.clean_total >= 1000


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_is_cleaned(report, form):
    assert report.cleaned_rate(form) >= MIN_CLEANED, report.leaks[form][:5]


def test_precision_per_entity_type(report):
    low = {t: report.precision(t) for t in report.entity_types if report.precision(t) < MIN_PRECISION}
    assert low == {}, {t: report.false_positives[t][:5] for t in low}


def test_clean_city_service_texts_stay(report):
    assert report.clean_altered_rate() <= MAX_CLEAN_ALTERED, report.altered_clean[:10]


def test_pseudonymized_output_is_clean_too(engine, records):
    """The policy pseudonymizes some types: the token must not carry the value."""
    subset = [r for r in records if r["form"] != "clean"][::7]
    outputs = engine.anonymize_batch([r["text"] for r in subset], actions={"DEFAULT": "pseudonymize"},
                                     pseudonymize=lambda entity_type, value: "x" * 12, language="ru")
    report = evaluate(subset, lambda text: [], lambda texts: outputs)
    assert all(report.cleaned_rate(form) == 1.0 for form in report.forms), dict(report.leaks)
