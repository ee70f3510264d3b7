"""Payment cards: Luhn, card-scheme first digit, compact and grouped layouts."""

import pytest

from pipeline.text_pii.recognizers.card import card_verdict

from .conftest import spans


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("4111111111111111", True),     # Visa test number
        ("5555555555554444", True),     # Mastercard test number
        ("378282246310005", True),      # American Express test number (15 digits)
        ("2200000000000004", True),     # Mir range, Luhn-valid
        ("6011111111111117", True),     # Discover test number
        ("4111111111111112", False),    # Luhn fails
        ("1234567812345670", False),    # Luhn passes, but 1 starts no card scheme
        ("411111111111", False),        # 12 digits: too short
        ("41111111111111111111", False),  # 20 digits: too long
    ],
)
def test_card_verdict(candidate, expected):
    assert card_verdict(candidate) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("карта 4111111111111111 заблокирована", "4111111111111111"),          # compact
        ("карта 4111 1111 1111 1111, списали дважды", "4111 1111 1111 1111"),  # spaces
        ("карта 4111-1111-1111-1111.", "4111-1111-1111-1111"),                 # hyphens, sentence end
        ("Amex 3782 822463 10005", "3782 822463 10005"),                      # 4-6-5 layout
        ("оплата 5555 5555 5555 4444 09/05/20 прошла", "5555 5555 5555 4444"),  # followed by a date
    ],
)
def test_card_in_text(engine, text, expected):
    assert ("CARD", expected) in spans(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "транзакция 4111111111111112",          # fails Luhn
        "время 1710498765123 мс",               # unix ms timestamp, 13 digits starting with 1
        "сумма 4111 1111 тг",                   # two groups only
    ],
)
def test_card_lookalikes_are_ignored(engine, text):
    assert [s for s in spans(engine, text) if s[0] == "CARD"] == []
