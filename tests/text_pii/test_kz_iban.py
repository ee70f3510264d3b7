"""KZ IBAN: country, length, mod-97 check digits, compact and grouped layouts."""

import pytest

from pipeline.text_pii.recognizers.kz_iban import compact_iban, iban_verdict

from .conftest import spans


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("KZ86125KZT5004100100", True),      # the published KZ example IBAN
        ("KZ86 125K ZT50 0410 0100", True),  # same, printed in groups of four
        ("kz86125kzt5004100100", True),      # lower case
        ("KZ87125KZT5004100100", False),     # check digits off by one
        ("KZ86125KZT5004100101", False),     # last character changed
        ("KZ86125KZT500410010", False),      # 19 characters
        ("DE89370400440532013000", False),   # valid German IBAN, not Kazakh
    ],
)
def test_iban_verdict(candidate, expected):
    assert iban_verdict(candidate) is expected


def test_canonical_iban_is_compact_upper_case():
    assert compact_iban("kz86 125k zt50 0410 0100") == "KZ86125KZT5004100100"


@pytest.mark.parametrize(
    "text, language, expected",
    [
        ("ИИК KZ86125KZT5004100100, БИН нет", "ru", "KZ86125KZT5004100100"),        # compact
        ("ЖСК: KZ86 125K ZT50 0410 0100.", "kk", "KZ86 125K ZT50 0410 0100"),       # grouped, sentence end
    ],
)
def test_iban_in_text(engine, text, language, expected):
    assert spans(engine, text, language) == [("IBAN", expected)]


def test_iban_with_bad_check_digits_is_not_reported(engine):
    assert spans(engine, "Счёт KZ87125KZT5004100100 не найден") == []
