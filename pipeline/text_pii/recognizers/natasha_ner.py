"""Presidio EntityRecognizer wrapping natasha's Russian NER for person, location and organization names."""

from __future__ import annotations

import logging
import os
import sys
from typing import List, Optional

from presidio_analyzer import EntityRecognizer, RecognizerResult

logger = logging.getLogger(__name__)

# natasha's span labels -> our entity types.
NATASHA_LABELS = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}


def natasha_available() -> bool:
    """True when natasha (with its bundled models) can be imported."""
    try:
        import natasha  # noqa: F401
    except ImportError:
        return False
    return True


class NatashaNerRecognizer(EntityRecognizer):
    """Names found by natasha's news NER; models ship inside the natasha wheel, so no download."""

    def __init__(
        self,
        supported_language: str = "ru",
        supported_entities: Optional[List[str]] = None,
        score: float = 0.85,
        name: Optional[str] = None,
    ):
        self.score = score
        self._tagger = None
        super().__init__(
            supported_entities=supported_entities or sorted(NATASHA_LABELS.values()),
            supported_language=supported_language,
            name=name or f"NatashaNerRecognizer_{supported_language}",
        )

    def load(self) -> None:
        """Load natasha's embeddings and NER tagger (once per recognizer)."""
        if self._tagger is not None:
            return
        if "numpy" in sys.modules and "OPENBLAS_NUM_THREADS" not in os.environ:
            # numpy was imported before pipeline.text_pii could pin BLAS to one thread;
            # natasha is then 5-10x slower (threads fight over tiny matrices).
            logger.warning("OPENBLAS_NUM_THREADS is unset; natasha NER will be slow")
        from natasha import NewsEmbedding, NewsNERTagger

        self._tagger = NewsNERTagger(NewsEmbedding())

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:
        """Tag text with natasha and report the spans whose type was requested."""
        if self._tagger is None:
            self.load()
        wanted = set(entities) if entities else set(self.supported_entities)
        results = []
        for span in self._tagger(text).spans:
            entity_type = NATASHA_LABELS.get(span.type)
            if entity_type is None or entity_type not in wanted:
                continue
            results.append(
                RecognizerResult(
                    entity_type=entity_type,
                    start=span.start,
                    end=span.stop,
                    score=self.score,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results
