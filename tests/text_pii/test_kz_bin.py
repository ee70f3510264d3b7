"""KZ BIN: registration month, entity-type digit, checksum; never confused with an IIN."""

import pytest

from pipeline.text_pii.recognizers.kz_bin import bin_verdict
from pipeline.text_pii.recognizers.kz_iin import iin_verdict

from .conftest import spans


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("050440001239", True),   # 2005-04, resident legal entity (4), head office; 108 mod 11 = 9
        ("050450001233", True),   # same, non-resident legal entity (5); 113 mod 11 = 3
        ("050461001233", True),   # type 6 (joint IE), branch digit 1; 124 mod 11 = 3
        ("050440001230", False),  # wrong control digit
        ("051340001239", False),  # month 13
        ("050040001239", False),  # month 00
        ("050430001239", False),  # 5th digit 3: a day of birth, so an IIN shape, not a BIN
        ("050470001239", False),  # 5th digit 7 is no entity type
        ("05044000123", False),   # 11 digits
    ],
)
def test_bin_verdict(candidate, expected):
    assert bin_verdict(candidate) is expected


@pytest.mark.parametrize(
    "candidate",
    [
        "050440001239",  # valid BIN
        "050450001233",  # valid BIN
    ],
)
def test_valid_bin_is_never_an_iin(candidate):
    # 5th digit 4-6 is a day tens digit no date has: the two checks cannot both pass.
    assert iin_verdict(candidate) is False


@pytest.mark.parametrize(
    "text, language",
    [
        ("ТОО с БИН 050440001239 не вывезло мусор", "ru"),  # Russian
        ("БСН 050440001239 ЖШС", "kk"),                      # Kazakh
        ("Реквизиты: БИН050440001239.", "ru"),               # glued to the context word
    ],
)
def test_bin_in_text(engine, text, language):
    assert spans(engine, text, language) == [("BIN", "050440001239")]
