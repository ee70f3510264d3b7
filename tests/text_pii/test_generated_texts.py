"""The generator's appeal texts: varied (so benchmarks pay the uncached cost), reproducible, and cleaned by default."""

import random
import re

import pytest

from pipeline.generate_texts import FIRST_NAMES, SURNAMES, STREETS, AppealTexts


def appeals(seed: int, n: int) -> list[str]:
    texts = AppealTexts(random.Random(seed), pii_share=0.3)
    return [texts.appeal() for _ in range(n)]


def test_texts_are_varied():
    generated = appeals(1, 3000)
    assert len(set(generated)) >= 0.9 * len(generated)
    searches = AppealTexts(random.Random(1))
    assert len({searches.search() for _ in range(1000)}) >= 200


def test_same_seed_same_texts():
    assert appeals(5, 200) == appeals(5, 200)
    assert appeals(5, 200) != appeals(6, 200)


@pytest.fixture(scope="module")
def cleaned(engine):
    generated = appeals(2, 1500)
    return generated, engine.anonymize_batch(generated, actions={}, language="ru")


def test_planted_personal_data_is_removed(cleaned):
    generated, outputs = cleaned
    personal_words = {w.lower() for w in FIRST_NAMES + SURNAMES}
    with_pii = 0
    for text, out in zip(generated, outputs):
        words = {w.lower() for w in re.findall(r"[^\W\d_]+", out)}
        with_pii += out != text
        assert not words & personal_words, (text, out)
        # No phone or IIN left: no run of 10+ digits, whatever separators people put between them.
        assert not re.search(r"\d(?:[\s\-()]*\d){9,}", out), (text, out)
        # No street with its house number.
        assert not re.search(r"ул\. (?:%s), д\. \d" % "|".join(STREETS), out), (text, out)
    assert with_pii >= 0.2 * len(generated)  # the share planted with personal data (0.3), minus none lost


def test_appeal_numbers_and_counts_stay(cleaned):
    generated, outputs = cleaned
    kept = [out for text, out in zip(generated, outputs) if "Заявка №" in text]
    assert kept and all(re.search(r"Заявка № \d{6,9} не исполнена", out) for out in kept)
