"""KZ phones: mobile codes and Astana landlines in common layouts; context for unprefixed numbers."""

import pytest

from pipeline.text_pii.recognizers.kz_phone import canonical_phone, phone_verdict

from .conftest import spans


@pytest.mark.parametrize(
    "phone",
    [
        "+7 701 123 45 67",      # spaces
        "+7 (701) 123-45-67",    # brackets and hyphens
        "+7(701)1234567",        # brackets, no spaces
        "8 701 123 4567",        # trunk prefix 8, 3-4 grouping
        "87011234567",           # compact, trunk prefix
        "+77011234567",          # compact E.164
        "77011234567",           # E.164 without plus
        "8-777-123-45-67",       # all hyphens
        "8 (7172) 55-12-34",     # Astana landline with trunk prefix
        "+7 7172 55 12 34",      # Astana landline, international
        "(7172) 55-12-34",       # Astana landline, bracketed code only
    ],
)
def test_phone_layouts_found_whole(engine, phone):
    assert spans(engine, f"Звоните: {phone}, после обеда.") == [("PHONE", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "заказ 89161234567 доставлен",      # Russian 916 code, not a KZ number
        "код 81234567890",                  # 8 + 123: no such KZ code
        "номер заявки 7011234567 принят",   # unprefixed, no phone context word
        "пользователь 7011234567 вошёл",    # "тел" inside "пользователь" must not count as context
        "время 2024-03-15 12:30:45",        # timestamp
        "id 1710498765123",                 # unix ms
    ],
)
def test_phone_lookalikes_are_ignored(engine, text):
    assert [s for s in spans(engine, text) if s[0] == "PHONE"] == []


@pytest.mark.parametrize(
    "text, language",
    [
        ("тел. 701 123 45 67", "ru"),             # Russian abbreviation
        ("Телефона нет, звоните 701 123 45 67", "ru"),  # inflected context word
        ("Ұялы нөмірім 701 123 45 67", "kk"),     # Kazakh context words
    ],
)
def test_unprefixed_mobile_needs_context(engine, text, language):
    assert ("PHONE", "701 123 45 67") in spans(engine, text, language)


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("+7 701 123 45 67", True),   # prefixed mobile
        ("8 (7172) 55-12-34", True),  # prefixed Astana landline
        ("(7172) 55-12-34", True),    # bracketed Astana code
        ("701 123 45 67", None),      # plausible, context decides
        ("8 727 123 45 67", False),   # Almaty landline code: outside the configured scope
        ("+7 916 123 45 67", False),  # Russian mobile
    ],
)
def test_phone_verdict(candidate, expected):
    assert phone_verdict(candidate) is expected


def test_canonical_phone_unifies_layouts():
    assert {canonical_phone(p) for p in ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567"]} == {"+77011234567"}
