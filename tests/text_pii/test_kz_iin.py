"""KZ IIN: date, century/sex digit, both checksum passes, and context for foreigners' IINs."""

import datetime

import pytest

from pipeline.text_pii.recognizers.kz_iin import iin_verdict

from .conftest import spans

TODAY = datetime.date(2024, 6, 1)


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("900101300126", True),   # 1990-01-01, digit 3 = male 1900s; first pass 72 mod 11 = 6
        ("900101400122", True),   # same date, digit 4 = female 1900s; first pass 79 mod 11 = 2
        ("900101300811", True),   # first pass 131 mod 11 = 10 -> second weights give 78 mod 11 = 1
        ("900101300810", False),  # same head, control digit 0 is what a first-pass-only validator accepts
        ("900101300800", False),  # head whose both passes give 10: no IIN can have it
        ("900101300127", False),  # wrong control digit
        ("900230300126", False),  # 30 February
        ("901301300120", False),  # month 13
        ("900101700123", False),  # century/sex digit 7 does not exist
        ("900101900123", False),  # century/sex digit 9 does not exist
        ("900101000127", None),   # digit 0 (foreign resident), 51 mod 11 = 7: plausible, needs context
        ("300101500123", False),  # digit 5 = 2000s -> born 2030-01-01, after TODAY; checksum 80 mod 11 = 3 is fine
        ("300101300120", True),   # same date with digit 3 = born 1930-01-01: fine; 66 mod 11 = 0
        ("90010130012", False),   # 11 digits
        ("9001013001260", False),  # 13 digits
    ],
)
def test_iin_verdict(candidate, expected):
    assert iin_verdict(candidate, today=TODAY) is expected


@pytest.mark.parametrize(
    "leap_head, valid",
    [
        ("000229", True),   # 2000-02-29 (digit 5) exists
        ("960229", True),   # 1996-02-29 exists
        ("970229", False),  # 1997-02-29 does not
    ],
)
def test_iin_leap_days(leap_head, valid):
    from pipeline.text_pii.recognizers.checksum import kz_control_digit

    marker = "5" if leap_head.startswith("00") else "3"
    for serial in range(100):
        head = f"{leap_head}{marker}{serial:04d}"
        control = kz_control_digit(head)
        if control is not None:
            assert iin_verdict(head + str(control), today=TODAY) is valid
            return
    pytest.fail("no serial with a control digit")


@pytest.mark.parametrize(
    "text, language, found",
    [
        ("Мой ИИН 900101300126, проверьте.", "ru", True),          # plain valid IIN
        ("ИИН:900101300126", "ru", True),                          # glued to the context word
        ("Менің ЖСН 900101300126.", "kk", True),                   # Kazakh sentence
        ("заказ 900101300127 оплачен", "ru", False),               # bad checksum
        ("id=550e8400-e29b-41d4-a716-900101300126", "ru", False),  # UUID tail, not an IIN
        ("сумма 0.900101300126", "ru", False),                     # decimal digits
    ],
)
def test_iin_in_text(engine, text, language, found):
    assert (("IIN", "900101300126") in spans(engine, text, language)) is found


def test_foreigner_iin_needs_context(engine):
    from pipeline.text_pii.recognizers.checksum import kz_control_digit

    iin = "900101000" + "12"
    iin = iin + str(kz_control_digit(iin))
    assert ("IIN", iin) in spans(engine, f"Иностранец, ИИН {iin}, вопрос по ВНЖ", "ru")    # Russian context
    assert ("IIN", iin) in spans(engine, f"Шетел азаматы, ЖСН {iin} бойынша", "kk")         # Kazakh context (xx pipeline)
    assert ("IIN", iin) not in spans(engine, f"Номер обращения {iin} закрыт", "ru")         # no context word
