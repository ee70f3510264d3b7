"""Build Presidio recognizers from conf/recognizers.yaml, one instance per recognizer and language."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import regex
import yaml
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import IpRecognizer

from .address import AddressRecognizer
from .card import CardRecognizer
from .checksum import only_digits
from .direct import DirectRecognizer
from .email import OfflineEmailRecognizer
from .email_obfuscated import ObfuscatedEmailRecognizer
from .id_document import IdDocumentRecognizer
from .iin_context import IinAfterContextRecognizer
from .kz_bin import KzBinRecognizer
from .kz_iban import KzIbanRecognizer
from .kz_iin import KzIinRecognizer
from .natasha_ner import NatashaNerRecognizer, natasha_available
from .person import PersonNameRecognizer
from .phone import NumberingPlanPhoneRecognizer, canonical_phone
from .vehicle_plate import VehiclePlateRecognizer

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "conf" / "recognizers.yaml"

# YAML "validator" key -> recognizer class. Presidio's IP recognizer (ipaddress) and email
# recognizer (tldextract, made offline) already validate; the rest are ours.
PATTERN_CLASSES: dict[str, type[PatternRecognizer]] = {
    "none": PatternRecognizer,
    "kz_iin": KzIinRecognizer,
    "kz_bin": KzBinRecognizer,
    "kz_iban": KzIbanRecognizer,
    "card": CardRecognizer,
    "email": OfflineEmailRecognizer,
    "ip": IpRecognizer,
}

# YAML "class" key -> recognizers that carry their own rules (and context) in code.
DIRECT_CLASSES: dict[str, type[DirectRecognizer]] = {
    "phone": NumberingPlanPhoneRecognizer,
    "email_obfuscated": ObfuscatedEmailRecognizer,
    "person_name": PersonNameRecognizer,
    "address": AddressRecognizer,
    "vehicle_plate": VehiclePlateRecognizer,
    "id_document": IdDocumentRecognizer,
    "iin_context": IinAfterContextRecognizer,
}

CANONICAL_FORMS: dict[str, Callable[[str], str]] = {
    "as_is": lambda value: value,
    "lowercase": lambda value: value.lower(),
    "phone": canonical_phone,
    "digits": only_digits,
    # Words in one case and one spacing, so "Иванов  И.И." and "иванов и.и." pseudonymize alike.
    "words": lambda value: " ".join(value.lower().split()),
}


@dataclass
class RecognizerSet:
    """What the engine needs from the config: recognizers, value canonicalizers and the pre-filter."""

    recognizers: list[EntityRecognizer]
    entity_types: frozenset[str]
    canonical_forms: dict[str, Callable[[str], str]] = field(default_factory=dict)
    # None when some recognizer (NER) can fire on any text, so nothing may be skipped.
    prefilter: regex.Pattern | None = None
    # Recognizer name -> its own pre-filter (compiled as in `prefilter`; one object per distinct pattern), for the
    # recognizers that have one: a text it does not match gives that recognizer nothing.
    prefilters: dict[str, regex.Pattern] = field(default_factory=dict)


def load_config(config_path: str | Path | None = None) -> dict[str, Any]:
    """Read the recognizers YAML (the packaged default when no path is given)."""
    path = Path(config_path) if config_path is not None else DEFAULT_CONFIG_PATH
    with path.open(encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    if not isinstance(config, dict) or not isinstance(config.get("recognizers"), list):
        raise ValueError(f"{path}: expected a mapping with a 'recognizers' list")
    return config


def _context_for(spec: Mapping[str, Any], language: str) -> list[str]:
    """Context words: those of every language, since Russian appeals quote Kazakh ("Менің нөмірім …") and back.

    The recognizer's own language's words come first (Presidio reports the first supporting word).
    """
    context = spec.get("context") or []
    if isinstance(context, Mapping):
        ordered = list(context.get(language, [])) + [w for lang, words in context.items() if lang != language
                                                     for w in words]
        return list(dict.fromkeys(str(word).lower() for word in ordered))
    return [str(word).lower() for word in context]


def _direct_recognizer(spec: Mapping[str, Any], language: str) -> DirectRecognizer:
    cls = DIRECT_CLASSES.get(spec["class"])
    if cls is None:
        raise ValueError(f"recognizer {spec['name']}: unknown class {spec['class']!r}; known: {sorted(DIRECT_CLASSES)}")
    return cls(supported_entity=spec["entity"], supported_language=language, name=f"{spec['name']}_{language}")


def _pattern_recognizer(spec: Mapping[str, Any], language: str) -> PatternRecognizer:
    validator = spec.get("validator", "none")
    if validator not in PATTERN_CLASSES:
        raise ValueError(f"recognizer {spec['name']}: unknown validator {validator!r}")
    cls = PATTERN_CLASSES[validator]
    if spec.get("patterns"):
        patterns = [Pattern(p["name"], p["regex"], float(p["score"])) for p in spec["patterns"]]
    elif cls is not PatternRecognizer:
        patterns = None  # a Presidio class with built-in patterns (email)
    else:
        raise ValueError(f"recognizer {spec['name']}: no patterns")
    kwargs = dict(
        patterns=patterns,
        context=_context_for(spec, language),
        supported_language=language,
        supported_entity=spec["entity"],
        name=f"{spec['name']}_{language}",
    )
    if cls is PatternRecognizer:
        return PatternRecognizer(**kwargs)
    return cls(**kwargs)


def _canonical_form(spec: Mapping[str, Any]) -> Callable[[str], str]:
    if "canonical" in spec:
        if spec["canonical"] not in CANONICAL_FORMS:
            raise ValueError(f"recognizer {spec['name']}: unknown canonical form {spec['canonical']!r}; "
                             f"known: {sorted(CANONICAL_FORMS)}")
        return CANONICAL_FORMS[spec["canonical"]]
    cls = PATTERN_CLASSES.get(spec.get("validator", "none"), PatternRecognizer)
    return getattr(cls, "canonical_form", CANONICAL_FORMS["as_is"])


def _ner_recognizers(config: Mapping[str, Any], languages, use_ner: bool) -> list[EntityRecognizer]:
    ner = config.get("ner") or {}
    if not (use_ner or ner.get("enabled", False)):
        return []
    if not natasha_available():
        logger.warning("NER requested but natasha is not installed (pip install 'anonpipe[ner]')")
        return []
    ner_languages = [lang for lang in ner.get("languages", ["ru"]) if lang in languages]
    score = float(ner.get("score", 0.85))
    return [NatashaNerRecognizer(supported_language=lang, score=score) for lang in ner_languages]


def build_recognizers(config: Mapping[str, Any], languages, *, use_ner: bool = False) -> RecognizerSet:
    """Instantiate every enabled recognizer for each of the requested languages."""
    recognizers: list[EntityRecognizer] = []
    canonical: dict[str, Callable[[str], str]] = {}
    prefilters: list[str] = []
    own_prefilters: dict[str, str] = {}  # recognizer name -> its spec's pre-filter
    for spec in config["recognizers"]:
        if not spec.get("enabled", True):
            continue
        spec_languages = [lang for lang in spec.get("languages", languages) if lang in languages]
        if not spec_languages:
            continue
        build = _direct_recognizer if "class" in spec else _pattern_recognizer
        built = [build(spec, lang) for lang in spec_languages]
        recognizers.extend(built)
        canonical[spec["entity"]] = _canonical_form(spec)
        prefilters.append(spec["prefilter"] if spec.get("prefilter") else "")
        if spec.get("prefilter"):
            own_prefilters.update((recognizer.name, spec["prefilter"]) for recognizer in built)
    ner = _ner_recognizers(config, languages, use_ner)
    recognizers.extend(ner)
    entity_types = frozenset(e for r in recognizers for e in r.supported_entities)
    # A recognizer without a pre-filter (and NER) may fire anywhere: then scan every text.
    can_prefilter = all(prefilters) and not ner
    prefilter = regex.compile("|".join(f"(?:{p})" for p in prefilters), regex.IGNORECASE) if can_prefilter else None
    compiled = {pattern: regex.compile(pattern, regex.IGNORECASE) for pattern in set(own_prefilters.values())}
    return RecognizerSet(recognizers, entity_types, canonical, prefilter,
                         {name: compiled[pattern] for name, pattern in own_prefilters.items()})
