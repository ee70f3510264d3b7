"""TextPiiEngine: find PII in free text with Presidio (offline) and replace, pseudonymize or redact it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import regex
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, PatternRecognizer, RecognizerRegistry, RecognizerResult

from .nlp import PrefixContextEnhancer, build_nlp_engine
from .normalize import normalize
from .recognizers import RecognizerSet, build_recognizers, load_config
from .recognizers.natasha_ner import NATASHA_LABELS

ACTIONS = frozenset({"replace", "pseudonymize", "redact"})
DEFAULT_ACTION_KEY = "DEFAULT"
DEFAULT_ACTION = "replace"


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: text[start:end] is of entity_type with confidence score."""

    entity_type: str
    start: int
    end: int
    score: float


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep non-overlapping findings, sorted by start.

    Rule: among overlapping findings the higher score wins; on equal scores the longer
    span wins; on equal length the earlier start wins. Greedy in that order, so a kept
    finding is never displaced by a later one.
    """
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start, f.entity_type))
    kept: list[Finding] = []
    for candidate in ranked:
        if all(candidate.end <= other.start or other.end <= candidate.start for other in kept):
            kept.append(candidate)
    kept.sort(key=lambda f: f.start)
    return kept


class TextPiiEngine:
    """Analyzer built once (recognizers, blank spaCy pipelines); reused for every text and batch."""

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        recognizer_set: RecognizerSet,
        languages: Sequence[str],
        score_threshold: float,
        shortcuts: bool = False,
    ):
        self._analyzer = analyzer
        self._languages = tuple(languages)
        self._score_threshold = score_threshold
        self._prefilter = recognizer_set.prefilter
        self._canonical_forms = dict(recognizer_set.canonical_forms)
        self.entity_types: frozenset[str] = recognizer_set.entity_types
        # Policies may name NER types even when NER is off; anything else is a typo.
        self._nameable_types = self.entity_types | frozenset(NATASHA_LABELS.values())
        self.ner_enabled = any(t in self.entity_types for t in NATASHA_LABELS.values())
        self._direct = _direct_recognizers(recognizer_set.recognizers, recognizer_set.prefilters) if shortcuts else None

    @classmethod
    def from_config(
        cls,
        config_path: str | Path | None = None,
        *,
        languages: Sequence[str] = ("ru", "kk"),
        use_ner: bool = False,
        shortcuts: bool = True,
    ) -> "TextPiiEngine":
        """Build the engine from conf/recognizers.yaml (or config_path) without network access.

        shortcuts=False runs Presidio's full pipeline on every text that passes the pre-filter (no lazy NLP, no
        context-enhancer skip, every recognizer on every such text): the reference that tests compare the default
        engine with.
        """
        languages = list(languages)
        config = load_config(config_path)
        recognizer_set = build_recognizers(config, languages, use_ner=use_ner)
        for recognizer in recognizer_set.recognizers:
            # Load now (natasha's models), not lazily inside the first batch.
            recognizer.load()
            recognizer.is_loaded = True
        enhancer_conf = config.get("context_enhancer") or {}
        analyzer = AnalyzerEngine(
            registry=RecognizerRegistry(
                recognizers=recognizer_set.recognizers, supported_languages=languages
            ),
            nlp_engine=build_nlp_engine(languages, lazy=shortcuts),
            supported_languages=languages,
            context_aware_enhancer=PrefixContextEnhancer(
                context_similarity_factor=float(enhancer_conf.get("similarity_factor", 0.35)),
                min_score_with_context_similarity=float(enhancer_conf.get("min_score_with_context", 0.4)),
                context_prefix_count=int(enhancer_conf.get("words_before", 5)),
                context_suffix_count=int(enhancer_conf.get("words_after", 2)),
                shortcut=shortcuts,
            ),
        )
        return cls(analyzer, recognizer_set, languages, float(config.get("score_threshold", 0.5)), shortcuts)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages this engine has pipelines and recognizers for."""
        return self._languages

    def _check_language(self, language: str) -> None:
        if language not in self._languages:
            raise ValueError(f"language {language!r} not configured; engine has {self._languages}")

    def may_contain_pii(self, text: str) -> bool:
        """Cheap pre-filter: False only when no configured recognizer could match text (or its NFKC form)."""
        if not text or self._prefilter is None or self._prefilter.search(text) is not None:
            return bool(text)
        return not text.isascii() and self._prefilter.search(normalize(text).text) is not None

    def analyze(self, text: str, language: str = "ru") -> list[Finding]:
        """Non-overlapping findings in text, sorted by start."""
        self._check_language(language)
        if not self.may_contain_pii(text):
            return []
        return self._findings(text, language)

    def _findings(self, text: str, language: str) -> list[Finding]:
        """analyze for a text that passed the pre-filter, in a configured language.

        The recognizers see the text NFKC-normalized (full-width and other Unicode digits as 0-9, dashes as "-");
        findings are mapped back to the original offsets.
        """
        normalized = normalize(text)
        findings = self._normalized_findings(normalized.text, language)
        if normalized.starts is None:  # offsets unchanged (nothing or one character for one changed)
            return findings
        return [Finding(f.entity_type, *normalized.original_span(f.start, f.end), f.score) for f in findings]

    def _normalized_findings(self, text: str, language: str) -> list[Finding]:
        entities = None  # None: every recognizer of the language
        results = None
        if self._direct is not None:
            # Presidio's own pattern matching, recognizer by recognizer, without AnalyzerEngine's per-text
            # overhead; AnalyzerEngine is asked only when some score may still change with context. A recognizer
            # whose own pre-filter the text does not match is skipped: it would find nothing (recognizers.yaml).
            found = []
            gates: dict[regex.Pattern, bool] = {}  # recognizers share pre-filters (most: a digit): searched once
            for recognizer in self._direct.get(language, ()):
                gate = recognizer.prefilter
                if gate is not None:
                    passed = gates.get(gate)
                    if passed is None:
                        passed = gates[gate] = gate.search(text) is not None
                    if not passed:
                        continue
                found.extend(recognizer.analyze(text))
            if not found:
                return []
            if all(r.score == EntityRecognizer.MAX_SCORE for r in found):
                # What AnalyzerEngine.analyze does with these: context can only raise a score (the enhancer
                # leaves all-maximum results as they are), then the threshold and Presidio's de-duplication.
                results = EntityRecognizer.remove_duplicates([r for r in found if r.score >= self._score_threshold])
            else:
                # Recognizers that found nothing add nothing there either: only the others run again.
                entities = sorted({r.entity_type for r in found})
        if results is None:
            results = self._analyzer.analyze(
                text=text, language=language, entities=entities, score_threshold=self._score_threshold
            )
        return resolve_overlaps(Finding(r.entity_type, r.start, r.end, r.score) for r in results)

    def _actions_by_type(
        self, actions: Mapping[str, str], pseudonymize: Callable[[str, str], str] | None
    ) -> dict[str, str]:
        unknown_actions = set(actions.values()) - ACTIONS
        if unknown_actions:
            raise ValueError(f"unknown actions {sorted(unknown_actions)}; use one of {sorted(ACTIONS)}")
        unknown_types = set(actions) - self._nameable_types - {DEFAULT_ACTION_KEY}
        if unknown_types:
            raise ValueError(f"unknown entity types {sorted(unknown_types)}; known: {sorted(self._nameable_types)}")
        fallback = actions.get(DEFAULT_ACTION_KEY, DEFAULT_ACTION)
        by_type = {entity: actions.get(entity, fallback) for entity in self.entity_types}
        if pseudonymize is None and "pseudonymize" in by_type.values():
            raise ValueError("an entity type is set to 'pseudonymize' but no pseudonymize callable was given")
        return by_type

    def anonymize_batch(
        self,
        texts: Sequence[str | None],
        *,
        actions: Mapping[str, str],
        pseudonymize: Callable[[str, str], str] | None = None,
        language: str = "ru",
    ) -> list[str | None]:
        """Anonymize each text; None stays None, texts without findings come back unchanged.

        pseudonymize(entity_type, canonical_value) returns the keyed token; the text gets
        "<ENTITY_TYPE:token>". "replace" writes "<ENTITY_TYPE>", "redact" removes the span.
        """
        self._check_language(language)
        by_type = self._actions_by_type(actions, pseudonymize)
        # One batch often repeats a value (same phone in many events): pseudonymize it once.
        tokens: dict[tuple[str, str], str] = {}

        def replacement(entity_type: str, value: str) -> str:
            action = by_type[entity_type]
            if action == "redact":
                return ""
            if action == "replace":
                return f"<{entity_type}>"
            key = (entity_type, self._canonical_forms.get(entity_type, str)(value))
            if key not in tokens:
                tokens[key] = pseudonymize(*key)
            return f"<{entity_type}:{tokens[key]}>"

        anonymized: list[str | None] = []
        for text in texts:
            if text is None or not self.may_contain_pii(text):
                anonymized.append(text)
                continue
            findings = self._findings(text, language)
            anonymized.append(_rewrite(text, findings, replacement) if findings else text)
        return anonymized


class _PrecheckedRecognizer:
    """A Presidio pattern recognizer whose analyze runs only with the patterns that match somewhere in the text.

    Most texts match few patterns, and Presidio's analyze costs several times more per pattern (two timestamps,
    a debug log, a regex timeout timer) than the search itself. Leaving out a pattern without a match is exact:
    PatternRecognizer.analyze (regex_flags=None) evaluates each pattern on its own, building results only from
    the matches of its regex (compiled with the `regex` module and the recognizer's global_regex_flags), then
    de-duplicates the union; deny lists are one more such pattern, and validate_result, invalidate_result and
    the explanation only run per match. So no pattern matching means no result, and otherwise the recognizer
    restricted to the matching patterns returns what the full one does.
    """

    __slots__ = ("recognizer", "prefilter", "_patterns", "_regexes", "_by_subset")

    def __init__(self, recognizer: PatternRecognizer, prefilter: regex.Pattern | None = None):
        self.recognizer = recognizer
        self.prefilter = prefilter
        # The engine built the recognizer and never changes its patterns afterwards.
        self._patterns = patterns = tuple(recognizer.patterns)
        try:
            # What PatternRecognizer.__analyze_patterns compiles when called without regex_flags.
            self._regexes: tuple[regex.Pattern, ...] | None = tuple(
                regex.compile(pattern.regex, flags=recognizer.global_regex_flags) for pattern in patterns
            )
        except Exception:  # noqa: BLE001 - Presidio raises it itself (and its own way) on every analyze call
            self._regexes = None
        # Indices of the matching patterns -> the recognizer with just those patterns (made on first use).
        self._by_subset: dict[tuple[int, ...], PatternRecognizer] = {tuple(range(len(patterns))): recognizer}

    def _restricted(self, subset: tuple[int, ...]) -> PatternRecognizer:
        restricted = self._by_subset.get(subset)
        if restricted is None:
            # A shallow copy keeps name, id, validators and the (shared) Pattern objects; only the list differs.
            restricted = copy.copy(self.recognizer)
            restricted.patterns = [self._patterns[i] for i in subset]
            self._by_subset[subset] = restricted
        return restricted

    def analyze(self, text: str) -> list[RecognizerResult]:
        """What the recognizer's own analyze returns for text (a pattern recognizer never reads nlp_artifacts)."""
        if self._regexes is None:
            return self.recognizer.analyze(text=text, entities=None, nlp_artifacts=None)
        # No timeout here (Presidio passes REGEX_TIMEOUT_SECONDS): the regex module's timer costs 2-3 times the
        # search of a short text. A text that makes a pattern time out still gets Presidio's treatment (nothing
        # from that pattern when there is no match, the matches before the timeout otherwise); it only takes
        # longer to find out.
        subset = tuple(i for i, compiled in enumerate(self._regexes) if compiled.search(text) is not None)
        if not subset:
            return []
        return self._restricted(subset).analyze(text=text, entities=None, nlp_artifacts=None)


class _ContextFreeRecognizer:
    """A recognizer that decides from the text alone (DirectRecognizer): called as AnalyzerEngine would call it."""

    __slots__ = ("recognizer", "prefilter")

    def __init__(self, recognizer: EntityRecognizer, prefilter: regex.Pattern | None = None):
        self.recognizer = recognizer
        self.prefilter = prefilter

    def analyze(self, text: str) -> list[RecognizerResult]:
        return self.recognizer.analyze(text=text, entities=None, nlp_artifacts=None)


def _direct_recognizers(recognizers: Sequence[EntityRecognizer],
                        prefilters: Mapping[str, regex.Pattern] | None = None) -> dict[str, list] | None:
    """Per language, the recognizers the engine may call itself: plain Presidio pattern recognizers (their
    analyze and context steps Presidio's own) and context-free ones (DirectRecognizer: no NLP artifacts, final
    scores, no context words), whose findings AnalyzerEngine only filters and de-duplicates when every score is
    already the maximum.

    None when some recognizer does more (NER, an overridden analyze or context step): then AnalyzerEngine runs
    every recognizer on every text. Each carries its own pre-filter from `prefilters` (by recognizer name), if any.
    """
    prefilters = prefilters or {}
    by_language: dict[str, list] = {}
    for recognizer in recognizers:
        context_free = getattr(recognizer, "context_free", False) and not recognizer.context \
            and type(recognizer).enhance_using_context is EntityRecognizer.enhance_using_context
        if context_free:
            by_language.setdefault(recognizer.supported_language, []).append(
                _ContextFreeRecognizer(recognizer, prefilters.get(recognizer.name)))
            continue
        if not isinstance(recognizer, PatternRecognizer) or type(recognizer).analyze is not PatternRecognizer.analyze \
                or type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context:
            return None
        by_language.setdefault(recognizer.supported_language, []).append(
            _PrecheckedRecognizer(recognizer, prefilters.get(recognizer.name)))
    return by_language


def _rewrite(text: str, findings: Sequence[Finding], replacement: Callable[[str, str], str]) -> str:
    """text with each (sorted, non-overlapping) finding's span swapped for its replacement."""
    pieces: list[str] = []
    cursor = 0
    for finding in findings:
        pieces.append(text[cursor:finding.start])
        pieces.append(replacement(finding.entity_type, text[finding.start:finding.end]))
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)
