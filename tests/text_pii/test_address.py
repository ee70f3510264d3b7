"""Addresses redacted as one span (street to apartment); streets without a number and numbers without a street stay."""

import pytest

from .conftest import spans


@pytest.mark.parametrize(
    "address",
    [
        "ул. Абая, д. 12, кв. 34",                 # the usual Russian form
        "улица Кенесары 40-12",                   # house-apartment with a hyphen
        "пр. Мангилик Ел 55/1, кв 12",            # two-word name, building with a slash
        "проспект Кабанбай батыра, дом 37, подъезд 5, кв 118",  # particle in the name, entrance
        "мкр. Самал-2, д. 5",                     # microdistrict with a number
        "ул.Сейфуллина 15",                       # no space after the keyword
        "Кенесары көшесі 40, 12 пәтер",           # Kazakh: street keyword after the name
        "Қабанбай батыр даңғылы 11, 3-подъезд",   # Kazakh avenue, entrance
        "Тұран даңғылы, 37 үй, 118 пәтер",        # Kazakh house and apartment words
        "пр-т Петрова 11а-87",                    # letter suffix
    ],
)
def test_address_is_one_span(engine, address):
    assert spans(engine, f"Проживаю: {address}. Спасибо") == [("ADDRESS", address)]


def test_address_after_intro_without_keyword(engine):
    assert ("ADDRESS", "Сарыарка 31/2, кв 45") in spans(engine, "проживаю по адресу: Сарыарка 31/2, кв 45")


@pytest.mark.parametrize(
    "text",
    [
        "На улице Абая нет света уже 3 дня",       # street, then a count of days
        "В доме 5 не работает лифт, подъезд 2",    # house number without a street
        "На проспекте Абая перекрыли 2 полосы",     # lower-case words end a street name
        "Площадь квартиры 53 м²",                  # an area
        "Автобус 12 по улице Туран 20 минут ждали",  # minutes after the street
        "Сарыарқа көшесінде 17 күн бойы жарық жоқ",  # Kazakh days
    ],
)
def test_non_addresses_stay(engine, text):
    assert [s for s in spans(engine, text) if s[0] == "ADDRESS"] == []
