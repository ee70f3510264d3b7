"""Plates, obfuscated e-mails, ID documents, separated IINs, Unicode digits: tables per form."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text_pii.normalize import normalize, normalized_char

from .conftest import spans


@pytest.mark.parametrize(
    "text, found",
    [
        ("Машина 123 ABC 01 на газоне", ("VEHICLE_PLATE", "123 ABC 01")),    # current format
        ("авто 456АВС02 во дворе", ("VEHICLE_PLATE", "456АВС02")),          # Cyrillic look-alikes, compact
        ("госномер 123 abc 01", ("VEHICLE_PLATE", "123 abc 01")),          # lower case after a plate word
        ("старый номер Z 123 ABC", ("VEHICLE_PLATE", "Z 123 ABC")),         # pre-2012 format
        ("пишите ivan(at)mail.ru", ("EMAIL", "ivan(at)mail.ru")),          # (at)
        ("почта ivan [собака] mail.ru", ("EMAIL", "ivan [собака] mail.ru")),  # [собака]
        ("ivan at mail dot ru", ("EMAIL", "ivan at mail dot ru")),          # words for @ and .
        ("почта иван@почта.рф", ("EMAIL", "иван@почта.рф")),               # Cyrillic domain
        ("удостоверение личности № 043123456", ("ID_DOCUMENT", "043123456")),  # ID card
        ("уд. л. 043 123 456", ("ID_DOCUMENT", "043 123 456")),              # grouped
        ("паспорт N12345678", ("ID_DOCUMENT", "N12345678")),                 # passport
        ("жеке куәлік нөмірі 043123456", ("ID_DOCUMENT", "043123456")),      # Kazakh
        ("ИИН 900101 300126", ("IIN", "900101 300126")),                     # 6+6
        ("ИИН:9001.0130.0126", ("IIN", "9001.0130.0126")),                   # 4+4+4 with dots
        ("(ИИН 900101-300-126)", ("IIN", "900101-300-126")),                 # 6-3-3 in brackets
    ],
)
def test_forms_found(engine, text, found):
    assert found in spans(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "заявка № 123456789 от 12.03.2024",    # appeal number: no document word before it
        "ID заявки 123456789",                  # "ID" of an appeal, not of a person
        "встреча at home dot",                  # "at ... dot" without a domain
        "в 100 км от города 15 машин",          # digits and letters that are no plate
        "автобус 12, температура -25°C",         # route and temperature
    ],
)
def test_lookalikes_stay(engine, text):
    assert spans(engine, text) == []


@pytest.mark.parametrize(
    "written",
    [
        "８７０１１２３４５６７",                 # full-width digits
        "𝟖𝟕𝟎𝟏𝟏𝟐𝟑𝟒𝟓𝟔𝟕",                         # mathematical bold digits (two UTF-16 units each)
        "٨٧٠١١٢٣٤٥٦٧",                            # Arabic-Indic digits: NFKC keeps them, the engine maps them
        "8\u00a0701\u00a0123\u00a045\u00a067",    # no-break spaces
    ],
)
def test_unicode_digits_found_at_original_offsets(engine, written):
    text = f"тел. {written} спасибо"
    assert spans(engine, text) == [("PHONE", written)]


def test_normalize_maps_every_character_back():
    one_for_one = normalize("ｘ８–７№")
    assert one_for_one.text == "x8-7№" and one_for_one.starts is None  # offsets unchanged; "№" kept as written
    expanded = normalize("ﬁ８")  # the ligature becomes two characters, both from original character 0
    assert expanded.text == "fi8"
    assert [expanded.original_span(i, i + 1) for i in range(3)] == [(0, 1), (0, 1), (1, 2)]
    assert normalize("plain текст").starts is None and normalize("plain текст").text == "plain текст"


def test_findings_after_an_expanding_character_land_on_the_original_text(engine):
    text = "ﬁ тел. ８７０１１２３４５６７"  # "ﬁ" is one character in the text, two after NFKC
    assert spans(engine, text) == [("PHONE", "８７０１１２３４５６７")]


def _normalize_char_by_char(text: str) -> tuple[str, tuple[int, ...] | None]:
    """The reference: normalized_char of every character, offsets kept only when some character became several."""
    pieces = [ch if ch.isascii() else normalized_char(ch) for ch in text]
    if all(len(piece) == 1 for piece in pieces):
        return "".join(pieces), None
    return "".join(pieces), tuple(i for i, piece in enumerate(pieces) for _ in piece)


# Characters that normalization keeps, changes one for one (digits, dashes, full width) or expands (ligatures).
_CHARACTERS = st.one_of(st.sampled_from(list("aZ9 -№ёӘңқұ٣８–—ｘﬁ¼㎏ⅳ")), st.characters())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_CHARACTERS, max_size=12), min_size=1, max_size=4))
def test_normalize_equals_the_character_by_character_reference(texts):
    for text in texts:  # several texts, so later ones meet characters the first ones made known
        normalized = normalize(text)
        expected, starts = _normalize_char_by_char(text)
        assert normalized.text == expected
        assert normalized.starts == starts
