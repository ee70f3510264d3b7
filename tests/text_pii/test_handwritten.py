"""Hand-typed appeals (eval_corpus/handwritten.py): each batch scored once before any rule saw it (37 of 49, then
19 of 20 cleaned); kept as a regression check of the forms the generated corpus does not vary."""

import re

from .eval_corpus.handwritten import CLEAN_HANDWRITTEN, HANDWRITTEN, SECOND_BATCH, SECOND_BATCH_CLEAN
from .eval_corpus.score import leaked


def secrets(token: str) -> dict:
    if token.isdigit():
        return {"digits": token} if len(token) >= 7 else {"numbers": [token]}
    if re.fullmatch(r"\d{3}[A-Z]{2,3}\d{2}", token):
        return {"compact": token}
    return {"words": [token]}


def test_handwritten_appeals_are_cleaned(engine):
    rows = HANDWRITTEN + SECOND_BATCH
    outputs = engine.anonymize_batch([text for _, text, _ in rows], actions={}, language="ru")
    leaks = [(text, out, found) for (_, text, tokens), out in zip(rows, outputs)
             if (found := [x for token in tokens for x in leaked(out, secrets(token))])]
    # Known miss: "на Кенесары 52 возле моего подъезда" (a street without a keyword or an address word).
    assert len(leaks) <= 1, leaks


def test_handwritten_clean_texts_stay(engine):
    texts = CLEAN_HANDWRITTEN + SECOND_BATCH_CLEAN
    outputs = engine.anonymize_batch(texts, actions={}, language="ru")
    altered = [(a, b) for a, b in zip(texts, outputs) if a != b]
    # Known: "Мечеть Хазрет Султан" (a landmark named like a person) is taken for a name.
    assert len(altered) <= 1, altered
