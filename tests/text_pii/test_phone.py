"""Phones by the numbering plans: every common layout found whole; appeal numbers, toll-free lines, dates stay."""

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text_pii.recognizers import phone
from pipeline.text_pii.recognizers.phone import NumberingPlanPhoneRecognizer, canonical_phone

from .conftest import spans


@pytest.mark.parametrize(
    "phone",
    [
        "+7 701 12 34 567",        # 2-2-3 grouping
        "+7 (701) 123-45-67",      # brackets and hyphens
        "8.701.123.45.67",         # dots
        "8–701–123–45–67",         # en dashes
        "8 — 701 — 1234567",       # em dashes with spaces
        "8(701)1234567",           # brackets, no spaces
        "87011234567",             # compact, trunk prefix
        "+77011234567",            # compact E.164
        "8/701/1234567",           # slashes
        "+7 (727) 250-12-34",      # Almaty landline
        "8 (7172) 123456",         # Astana landline
        "87212412345",             # Karaganda landline, compact
        "+7 7252 53 12 34",        # Shymkent landline
        "+7 916 123-45-67",        # Russian mobile
        "8 495 123 45 67",         # Moscow landline with the trunk prefix
        "+996 555 123 456",        # Kyrgyzstan
        "+998 90 123 45 67",       # Uzbekistan
        "701 123 45 67",           # KZ mobile without a prefix
        "(727) 250-12-34",         # landline code in brackets, no prefix
    ],
)
def test_layouts_found_whole(engine, phone):
    assert spans(engine, f"Звоните: {phone}, после обеда.") == [("PHONE", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "заявка № 7011234567 принята",            # an appeal number, however phone-like
        "номер заказа 87011234567",               # an order number
        "горячая линия 8 800 080 7777",           # toll-free: a service's number, not a person's
        "время 2024-03-15 12:30:45",              # timestamp
        "id 1710498765123",                       # unix milliseconds
        "оплата 9161234567 тенге",                # Russian mobile digits without a prefix or a phone word
        "код 81234567890",                        # 8 + 123: no such +7 number
    ],
)
def test_lookalikes_are_ignored(engine, text):
    assert [s for s in spans(engine, text) if s[0] == "PHONE"] == []


def test_russian_mobile_without_prefix_needs_a_phone_word(engine):
    assert spans(engine, "мой телефон 916 123 45 67") == [("PHONE", "916 123 45 67")]


def test_number_inside_a_longer_run_is_cut_at_group_boundaries(engine):
    # The date's digits run into the phone's; the phone is still found whole, the date left alone.
    assert spans(engine, "12.03.2024 87011234567") == [("PHONE", "87011234567")]


def test_canonical_phone_unifies_layouts():
    assert {canonical_phone(p) for p in ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "701 123 45 67"]} \
        == {"+77011234567"}
    assert canonical_phone("+996 555 123 456") == "+996555123456"


# Digit runs of every length near the shortest phone, in the layouts people type, after the words that matter.
_RUNS = st.builds(lambda plus, groups, sep: plus + sep.join(groups), st.sampled_from(["", "+", "+ ", "(", "8 ("]),
                  st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=1, max_size=5),
                  st.sampled_from([" ", "-", ".", "", ") "]))
_WORDS = st.sampled_from(["", "тел ", "звоните ", "№ ", "заявка ", "whatsapp: ", "дом ", "Айгуль "])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_WORDS, _RUNS), min_size=1, max_size=4))
def test_short_digit_runs_are_skipped_only_where_they_hold_no_phone(parts):
    text = " ".join(word + run for word, run in parts)
    recognizer = NumberingPlanPhoneRecognizer(supported_entity="PHONE")
    fast = list(recognizer.spans(text))
    with mock.patch.object(phone, "_MIN_DIGITS", 0):  # every run looked at
        assert fast == list(recognizer.spans(text))
