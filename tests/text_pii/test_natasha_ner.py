"""natasha NER (optional extra): person, location and organization names in Russian text."""

import pytest

from pipeline.text_pii import TextPiiEngine

from .conftest import requires_natasha

pytestmark = requires_natasha


@pytest.fixture(scope="module")
def ner_engine(spacy_cache_dir):
    return TextPiiEngine.from_config(languages=("ru",), use_ner=True)


def test_ner_types_are_enabled(ner_engine):
    assert {"PERSON", "LOCATION", "ORGANIZATION"} <= ner_engine.entity_types
    assert ner_engine.ner_enabled


@pytest.mark.parametrize(
    "text, entity_type, value",
    [
        ("Иванов Иван Петрович жалуется на шум", "PERSON", "Иванов Иван Петрович"),   # full name, no digits at all
        ("Прошу связаться с Айгерим Нурлановной", "PERSON", "Айгерим Нурлановной"),   # Kazakh name, Russian grammar
        ("Работаю в ТОО «Казахтелеком» с 2019 года", "ORGANIZATION", "ТОО «Казахтелеком»"),  # organization
    ],
)
def test_names_found(ner_engine, text, entity_type, value):
    found = [(f.entity_type, text[f.start:f.end]) for f in ner_engine.analyze(text, "ru")]
    assert (entity_type, value) in found


def test_names_and_patterns_together(ner_engine):
    text = "Иванов Иван, тел. +7 701 123 45 67"
    [out] = ner_engine.anonymize_batch([text], actions={"DEFAULT": "replace"})
    assert out == "<PERSON>, тел. <PHONE>"


def test_prefilter_is_off_with_ner(ner_engine):
    assert ner_engine.may_contain_pii("Иванов Иван")
