"""Benchmark text PII: quality on the appeal-forms corpus, texts/s per core (cold and warm cache) vs Presidio stock."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: natasha is 5-10x slower otherwise
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.operators.columnar import BoundedCache  # noqa: E402
from pipeline.operators.text_pii import CACHE_ENTRIES  # noqa: E402
from pipeline.text_pii import TextPiiEngine  # noqa: E402
from pipeline.text_pii.nlp import build_nlp_engine  # noqa: E402
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: E402
from tests.text_pii.eval_corpus.build import load  # noqa: E402
from tests.text_pii.eval_corpus.score import evaluate  # noqa: E402

POLICY_ACTIONS = {"DEFAULT": "replace", "IIN": "pseudonymize", "PHONE": "pseudonymize", "EMAIL": "pseudonymize"}


def token(entity_type: str, value: str) -> str:
    """Stands in for the keyed pseudonym (its cost is measured in benchmarks/pseudonymize.py)."""
    return format(hash((entity_type, value)) & 0xFFFFFFFFFFFF, "012x")


def per_core(run, texts) -> float:
    """Texts per CPU-second of this single-threaded process: the per-core rate."""
    started = time.process_time()
    run(texts)
    return len(texts) / (time.process_time() - started)


def cold_and_warm(engine: TextPiiEngine, texts: list[str], batch: int) -> tuple[float, float]:
    """As the operator runs: a bounded cache per key epoch; cold = every text new, warm = every text cached."""
    cache = BoundedCache(max(CACHE_ENTRIES, len(texts) + 1))

    def clean(missing: list[str]) -> list:
        return engine.anonymize_batch(missing, actions=POLICY_ACTIONS, pseudonymize=token, language="ru")

    def run(all_texts):
        for i in range(0, len(all_texts), batch):
            cache.lookup(all_texts[i:i + batch], clean)
    cold = per_core(run, texts)
    warm = per_core(run, texts)
    return cold, warm


def stock_analyzer() -> AnalyzerEngine:
    """Presidio's predefined recognizers over the same blank Russian pipeline (served as "en": most stock
    recognizers are registered for English only)."""
    nlp_engine = build_nlp_engine(["ru"], presidio_codes={"ru": "en"})
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine)


def quality(engine: TextPiiEngine, records: list[dict]) -> None:
    report = evaluate(records, lambda text: [(f.entity_type, f.start, f.end) for f in engine.analyze(text, "ru")],
                      lambda texts: engine.anonymize_batch(texts, actions={}, language="ru"))
    print("\n".join("  " + line for line in report.lines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=0, help="use only the first N corpus texts (0: all)")
    parser.add_argument("--batch", type=int, default=500, help="texts per operator batch")
    parser.add_argument("--ner", action="store_true", help="also measure the engine with natasha NER")
    args = parser.parse_args()

    records = load()
    if args.texts:
        records = records[:args.texts]
    texts = [r["text"] for r in records]
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"appeal-forms corpus: {len(texts)} distinct texts ({sum(r['form'] == 'clean' for r in records)} clean), "
          f"mean {mean_chars:.0f} chars; policy language ru")

    engine = TextPiiEngine.from_config()
    print("quality, default configuration (patterns and name lists, NER off):")
    quality(engine, records)

    cold, warm = cold_and_warm(engine, texts, args.batch)
    stock = stock_analyzer()
    stock_rate = per_core(lambda batch: [stock.analyze(text=t, language="en") for t in batch], texts)
    print("throughput per core (analyze + anonymize, as the text_pii operator runs):")
    print(f"  ours, default, cold cache (every text new):  {cold:9.0f} texts/s")
    print(f"  ours, default, warm cache (every text seen): {warm:9.0f} texts/s")
    print(f"  Presidio stock recognizers (analyze only):   {stock_rate:9.0f} texts/s")
    print(f"  ratio ours cold / stock:                     {cold / stock_rate:9.1f}x")

    if args.ner:
        ner_engine = TextPiiEngine.from_config(use_ner=True)
        print("quality with natasha NER added (PERSON/LOCATION/ORGANIZATION from the model as well):")
        quality(ner_engine, records)
        ner_cold, ner_warm = cold_and_warm(ner_engine, texts, args.batch)
        print(f"  ours + natasha NER, cold cache:             {ner_cold:9.0f} texts/s")
        print(f"  ours + natasha NER, warm cache:             {ner_warm:9.0f} texts/s")


if __name__ == "__main__":
    main()
