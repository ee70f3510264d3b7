"""`text_pii`: PII in free text replaced or pseudonymized with keyed tokens; entity list matches the engine."""

import re

import pytest
from operators_support import T1, T2, run, two_epoch_ring

from pipeline.generate import iin_check_digit
from pipeline.keys.pseudonym import pseudonym
from pipeline.operators.text_pii import TEXT_ENGINE, TEXT_ENGINE_NER, TEXT_ENTITY_TYPES, TextPiiParams
from pipeline.text_pii.engine import TextPiiEngine
from pipeline.text_pii.recognizers.natasha_ner import natasha_available

IIN = "900101300" + "01"
IIN += str(iin_check_digit(IIN))
ACTIONS = {"DEFAULT": "replace", "IIN": "pseudonymize", "PHONE": "pseudonymize", "EMAIL": "pseudonymize"}


@pytest.fixture(scope="module")
def services():
    return {TEXT_ENGINE: TextPiiEngine.from_config()}


def test_entity_types_match_engine():
    engine = TextPiiEngine.from_config(use_ner=natasha_available())
    assert TEXT_ENTITY_TYPES == engine._nameable_types  # the engine exposes no public equivalent


@pytest.mark.parametrize("text, must_vanish, must_show", [
    (f"мой ИИН {IIN} спасибо", [IIN], ["<IIN:"]),                          # IIN pseudonymized
    ("пишите на ivan.petrov@example.kz", ["ivan.petrov@example.kz"], ["<EMAIL:"]),  # email pseudonymized
    ("ямы на дороге Кабанбай батыра", [], ["ямы на дороге"]),             # no PII: unchanged
    (None, [], []),                                                       # absent stays absent
])
def test_pii_removed(services, text, must_vanish, must_show):
    out = run("text_pii", [text], params={"actions": ACTIONS}, services=services, output="t").columns["t"]
    cleaned = out.to_pylist()[0]
    if text is None:
        assert cleaned is None
        return
    assert all(value not in cleaned for value in must_vanish)
    assert all(marker in cleaned for marker in must_show)


def test_tokens_are_keyed_by_epoch(services):
    text = f"ИИН {IIN}"
    out = run("text_pii", [text, text, text], times=[T1, T1, T2], params={"actions": ACTIONS}, services=services,
              output="t").columns["t"].to_pylist()
    tokens = [re.search(r"<IIN:([0-9a-f]+)>", value).group(1) for value in out]
    ring = two_epoch_ring()
    assert tokens[0] == tokens[1] == pseudonym(ring.keys[0].secret, "text:IIN", IIN, 12)
    assert tokens[2] == pseudonym(ring.keys[1].secret, "text:IIN", IIN, 12) != tokens[0]


def test_long_text_cut_and_unknown_entity_refused(services):
    out = run("text_pii", ["а" * 50], params={"max_length": 10}, services=services, output="t").columns["t"]
    assert out.to_pylist() == ["а" * 10]
    with pytest.raises(ValueError):
        TextPiiParams.model_validate({"actions": {"PASSPORT": "replace"}})


def test_each_ner_setting_gets_its_own_engine(services):
    # the engine was once shared by name, so the first text field's use_ner decided for every other one
    shared = dict(services)
    run("text_pii", ["позвоните Ивану"], params={"use_ner": True}, services=shared, output="t")
    assert set(shared) == {TEXT_ENGINE, TEXT_ENGINE_NER}
    assert shared[TEXT_ENGINE_NER] is not shared[TEXT_ENGINE]
