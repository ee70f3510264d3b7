"""Base for recognizers that decide from the text alone (their own context rules), so the engine may call them."""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

from presidio_analyzer import EntityRecognizer, RecognizerResult


class DirectRecognizer(EntityRecognizer):
    """A Presidio EntityRecognizer whose analyze never reads nlp_artifacts and whose scores are final.

    Subclasses implement `spans(text)`; any context they need (a trigger phrase, a street keyword) is part of
    their own rule, so Presidio's context enhancer has nothing to add and the engine may call them directly.
    """

    context_free = True

    def __init__(self, supported_entity: str, supported_language: str = "ru", name: Optional[str] = None,
                 context: Optional[Sequence[str]] = None, score: float = EntityRecognizer.MAX_SCORE):
        self.score = score
        super().__init__(supported_entities=[supported_entity], supported_language=supported_language,
                         name=name or type(self).__name__, context=list(context or []))

    def load(self) -> None:  # noqa: D102 - everything is built in __init__
        pass

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        """(start, end) of each entity in text."""
        raise NotImplementedError

    def analyze(self, text: str, entities: Optional[List[str]] = None, nlp_artifacts=None) -> List[RecognizerResult]:
        """One result per span, at the recognizer's score."""
        entity_type = self.supported_entities[0]
        if entities and entity_type not in entities:
            return []
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [RecognizerResult(entity_type, start, end, self.score, recognition_metadata=dict(metadata))
                for start, end in self.spans(text)]
