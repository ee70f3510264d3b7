"""Offline spaCy pipelines (blank, saved to a local cache) and Russian/Kazakh context-word matching."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, List, Mapping

import spacy
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, NlpEngineProvider, SpacyNlpEngine
from spacy.lookups import Lookups

# spaCy has no Kazakh language class; the multilingual tokenizer splits Kazakh fine.
SPACY_LANGUAGE_FOR = {"ru": "ru", "kk": "xx"}

CACHE_DIR_ENV = "ANONPIPE_CACHE_DIR"
NER_LABEL_MAPPING = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}


def cache_root() -> Path:
    """Where blank pipelines are kept: $ANONPIPE_CACHE_DIR/spacy or ~/.cache/anonpipe/spacy."""
    base = os.environ.get(CACHE_DIR_ENV)
    root = Path(base) if base else Path.home() / ".cache" / "anonpipe"
    return root / "spacy"


def _blank_pipeline(spacy_language: str) -> spacy.Language:
    """Tokenizer plus a lookup lemmatizer with an empty table (lemma = token text).

    Presidio's context enhancer reads lemmas; a blank pipeline has none, so without the
    lemmatizer no context word could ever match.
    """
    nlp = spacy.blank(spacy_language)
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", {})
    lemmatizer.initialize(lookups=lookups)
    return nlp


def ensure_blank_pipeline(language: str, root: Path | None = None) -> Path:
    """Path of the saved blank pipeline for language, creating it atomically on first use."""
    if language not in SPACY_LANGUAGE_FOR:
        raise ValueError(f"unsupported language {language!r}; known: {sorted(SPACY_LANGUAGE_FOR)}")
    root = root or cache_root()
    spacy_language = SPACY_LANGUAGE_FOR[language]
    # The spaCy version is in the name: a pipeline saved by another version may not load.
    target = root / f"{spacy_language}-blank-lookup-spacy{spacy.__version__}"
    if (target / "meta.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spacy_language}-", dir=root))
    try:
        _blank_pipeline(spacy_language).to_disk(staging)
        try:
            # rename() of a directory is atomic; a concurrent creator may have won the race.
            staging.rename(target)
        except OSError:
            if not (target / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class LazyNlpArtifacts:
    """Presidio's NlpArtifacts of one text, computed on first attribute access.

    Pattern recognizers never read them; only the context enhancer does, and it skips texts whose findings are
    all at the maximum score (see PrefixContextEnhancer) — then the spaCy run (~50 µs a text) is never paid.
    """

    __slots__ = ("_compute", "_artifacts")

    def __init__(self, compute: Callable[[], NlpArtifacts]):
        self._compute = compute
        self._artifacts: NlpArtifacts | None = None

    def __getattr__(self, name: str):
        if self._artifacts is None:
            self._artifacts = self._compute()
        return getattr(self._artifacts, name)


class LazySpacyNlpEngine(SpacyNlpEngine):
    """SpacyNlpEngine whose process_text defers the spaCy run until its artifacts are read."""

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return LazyNlpArtifacts(lambda: SpacyNlpEngine.process_text(self, text, language))  # type: ignore[return-value]


def build_nlp_engine(
    languages: Iterable[str], root: Path | None = None, *, presidio_codes: Mapping[str, str] | None = None,
    lazy: bool = True,
) -> NlpEngine:
    """Presidio spaCy engine over local blank pipelines; never triggers a model download.

    presidio_codes renames languages for Presidio (the benchmark serves the Russian
    pipeline as "en" so Presidio's English-only stock recognizers run on it). lazy=False keeps Presidio's
    eager engine (the reference the shortcut is tested against).
    """
    models = []
    for language in languages:
        path = ensure_blank_pipeline(language, root)
        # Presidio downloads any model name that is not an existing path: refuse instead.
        if not (path / "meta.json").is_file():
            raise FileNotFoundError(f"blank spaCy pipeline missing at {path}")
        lang_code = (presidio_codes or {}).get(language, language)
        models.append({"lang_code": lang_code, "model_name": str(path)})
    configuration = {
        "nlp_engine_name": "spacy",
        "models": models,
        # Blank pipelines find no entities; the mapping only satisfies Presidio's checks.
        "ner_model_configuration": {"model_to_presidio_entity_mapping": NER_LABEL_MAPPING},
    }
    engines = (LazySpacyNlpEngine,) if lazy else (SpacyNlpEngine,)
    return NlpEngineProvider(nlp_engines=engines, nlp_configuration=configuration).create_engine()


class PrefixContextEnhancer(LemmaContextAwareEnhancer):
    """Context word matches when a nearby token starts with it.

    Russian and Kazakh inflect by suffix ("телефон" -> "телефона", "нөмір" -> "нөміріңіз"),
    and without a real lemmatizer whole-word matching misses those, while Presidio's
    substring mode finds "тел" inside "пользователь". A prefix match sits between the two.

    shortcut=True returns the results untouched when every one already has the maximum score (or there are
    none): context can only raise a score, capped at the maximum, so nothing could change — and the text's
    NLP artifacts (tokens, lemmas) are then never computed.
    """

    def __init__(self, *args, shortcut: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.shortcut = shortcut

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        if self.shortcut and not context and all(r.score == ContextAwareEnhancer.MAX_SCORE for r in raw_results):
            return list(raw_results)
        return super().enhance_using_context(text, raw_results, nlp_artifacts, recognizers, context)

    @staticmethod
    def _find_supportive_word_in_context(
        context_list: List[str], recognizer_context_list: List[str], matching_mode: str = "prefix"
    ) -> str:
        if not context_list or not recognizer_context_list:
            return ""
        tokens = [token.lower() for token in context_list if token]
        for word in recognizer_context_list:
            stem = word.lower()
            if any(token.startswith(stem) for token in tokens):
                return word
        return ""
