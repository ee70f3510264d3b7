"""Benchmark text PII: precision/recall on the generated set, texts/s per core vs Presidio's stock recognizers."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: natasha is 5-10x slower otherwise
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.text_pii import TextPiiEngine  # noqa: E402
from pipeline.text_pii.nlp import build_nlp_engine  # noqa: E402
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: E402
from tests.text_pii.corpus import build_corpus, score_corpus  # noqa: E402


def per_core_rate(run, texts, repeats: int) -> float:
    """Texts per CPU-second of this (single-threaded) process: the per-core rate."""
    run(texts[:20])  # warm up: regex compilation, lazy loads
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run(texts)
        best = min(best, time.process_time() - started)
    return len(texts) / best


def stock_analyzer() -> AnalyzerEngine:
    """Presidio's predefined recognizers over the same blank Russian pipeline.

    Most stock recognizers are registered for English only, so the Russian pipeline is
    served to Presidio under the code "en".
    """
    nlp_engine = build_nlp_engine(["ru"], presidio_codes={"ru": "en"})
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=400, help="texts per language in the evaluation set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ner", action="store_true", help="also time the natasha NER engine")
    args = parser.parse_args()

    engine = TextPiiEngine.from_config()
    corpus = build_corpus(n_per_language=args.texts, sentences_per_text=3)
    texts = [sample.text for sample in corpus]
    mean_chars = sum(map(len, texts)) / len(texts)

    scores = score_corpus(corpus, engine.analyze)
    print(f"evaluation set: {len(corpus)} texts (ru+kk), mean {mean_chars:.0f} chars, "
          f"{scores.lookalikes} planted look-alikes")
    print(f"{'entity':<12}{'planted':>8}{'precision':>11}{'recall':>9}")
    for entity_type in scores.entity_types:
        print(f"{entity_type:<12}{scores.support(entity_type):>8}"
              f"{scores.precision(entity_type):>11.4f}{scores.recall(entity_type):>9.4f}")
    print(f"overall precision {scores.overall_precision():.4f}; "
          f"look-alikes left alone {scores.lookalike_pass_rate():.4f}")

    ours = per_core_rate(lambda batch: engine.anonymize_batch(batch, actions={}), texts, args.repeats)
    stock = stock_analyzer()
    stock_rate = per_core_rate(lambda batch: [stock.analyze(text=t, language="en") for t in batch],
                               texts, args.repeats)
    clean = ["Спасибо, приложение работает хорошо, но карта района грузится медленно."] * len(texts)
    clean_rate = per_core_rate(lambda batch: engine.anonymize_batch(batch, actions={}), clean, args.repeats)
    print(f"throughput per core (~{mean_chars:.0f}-char texts with PII):")
    print(f"  ours (pattern recognizers, analyze + anonymize): {ours:9.0f} texts/s")
    print(f"  Presidio stock recognizers (analyze only):       {stock_rate:9.0f} texts/s")
    print(f"  ratio ours/stock:                                {ours / stock_rate:9.1f}x")
    print(f"  ours on clean texts (pre-filter fast path):      {clean_rate:9.0f} texts/s")

    if args.ner:
        ner_engine = TextPiiEngine.from_config(languages=("ru",), use_ner=True)
        ru_texts = [s.text for s in corpus if s.language == "ru"]
        ner_rate = per_core_rate(lambda batch: ner_engine.anonymize_batch(batch, actions={}), ru_texts, 1)
        print(f"  ours + natasha NER (ru):                         {ner_rate:9.0f} texts/s")


if __name__ == "__main__":
    main()
