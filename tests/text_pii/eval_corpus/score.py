"""Score an anonymizer on the evaluation corpus as an attacker would: read the outputs, look for what survived.

Independent of the recognizers: a text counts as cleaned when none of its personal tokens is left in the output
(digits compared without separators, names and streets as words, plates as letters and digits, house and apartment
numbers as numbers). Precision and recall per entity type compare the reported spans with the labelled ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

_LOOKALIKE = str.maketrans("АВЕКМНОРСТХУ", "ABEKMHOPCTXY")


def _plain(text: str) -> str:
    """NFKC, every decimal digit as 0-9 (an attacker reads ٧ as 7)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)


def _word_set(text: str) -> set[str]:
    return {w.lower().replace("ё", "е") for w in re.findall(r"[^\W\d_]{2,}", text)}


def leaked(output: str, secrets: dict) -> list[str]:
    """The personal tokens of one entity still readable in output."""
    plain = _plain(output)
    found = []
    digits = secrets.get("digits")
    if digits:
        out_digits = re.sub(r"\D", "", plain)
        width = min(7, len(digits))  # any 7 digits in a row of the number give it away
        if any(digits[i:i + width] in out_digits for i in range(len(digits) - width + 1)):
            found.append(digits)
    words = _word_set(plain)
    found += [w for w in secrets.get("words", []) if w.lower().replace("ё", "е") in words]
    compact = secrets.get("compact")
    if compact and compact in re.sub(r"[\W_]", "", plain.upper()).translate(_LOOKALIKE):
        found.append(compact)
    numbers = set(re.findall(r"\d+", plain))
    found += [n for n in secrets.get("numbers", []) if n in numbers]
    return found


@dataclass
class Report:
    """Per entity type: true/false positives, misses; per form: texts and cleaned texts; clean texts altered."""

    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    form_tp: Counter = field(default_factory=Counter)  # per form: labelled entities found, findings that hit one
    form_fn: Counter = field(default_factory=Counter)
    form_fp: Counter = field(default_factory=Counter)
    texts: Counter = field(default_factory=Counter)
    cleaned: Counter = field(default_factory=Counter)
    altered_clean: list = field(default_factory=list)
    clean_total: int = 0
    leaks: dict = field(default_factory=lambda: defaultdict(list))
    false_positives: dict = field(default_factory=lambda: defaultdict(list))

    def precision(self, entity_type: str) -> float:
        found = self.tp[entity_type] + self.fp[entity_type]
        return self.tp[entity_type] / found if found else 1.0

    def recall(self, entity_type: str) -> float:
        planted = self.tp[entity_type] + self.fn[entity_type]
        return self.tp[entity_type] / planted if planted else 1.0

    def overall_precision(self) -> float:
        found = sum(self.tp.values()) + sum(self.fp.values())
        return sum(self.tp.values()) / found if found else 1.0

    def form_precision(self, form: str) -> float:
        found = self.form_tp[form] + self.form_fp[form]
        return self.form_tp[form] / found if found else 1.0

    def form_recall(self, form: str) -> float:
        planted = self.form_tp[form] + self.form_fn[form]
        return self.form_tp[form] / planted if planted else 1.0

    def cleaned_rate(self, form: str) -> float:
        return self.cleaned[form] / self.texts[form] if self.texts[form] else 1.0

    def clean_altered_rate(self) -> float:
        return len(self.altered_clean) / self.clean_total if self.clean_total else 0.0

    @property
    def entity_types(self) -> list[str]:
        return sorted(set(self.tp) | set(self.fp) | set(self.fn))

    @property
    def forms(self) -> list[str]:
        return [form for form in self.texts if form != "clean"]

    def lines(self) -> list[str]:
        """A printable table."""
        out = [f"{'entity':<14}{'planted':>8}{'found':>7}{'precision':>11}{'recall':>8}"]
        for t in self.entity_types:
            out.append(f"{t:<14}{self.tp[t] + self.fn[t]:>8}{self.tp[t] + self.fp[t]:>7}"
                       f"{self.precision(t):>11.4f}{self.recall(t):>8.4f}")
        out.append(f"overall precision {self.overall_precision():.4f}")
        out.append(f"{'form':<20}{'texts':>6}{'cleaned':>9}{'precision':>11}{'recall':>8}")
        for form in self.forms:
            out.append(f"{form:<20}{self.texts[form]:>6}{self.cleaned_rate(form):>9.4f}"
                       f"{self.form_precision(form):>11.4f}{self.form_recall(form):>8.4f}")
        out.append(f"clean city-service texts altered: {len(self.altered_clean)} of {self.clean_total} "
                   f"({self.clean_altered_rate():.2%})")
        return out


def evaluate(records: Sequence[dict], analyze: Callable[[str], list[tuple[str, int, int]]],
             anonymize: Callable[[list[str]], list[str]]) -> Report:
    """analyze(text) -> [(type, start, end)], anonymize(texts) -> outputs; both as the pipeline runs them."""
    report = Report()
    outputs = anonymize([r["text"] for r in records])
    for record, output in zip(records, outputs):
        text, form = record["text"], record["form"]
        if form == "clean":
            report.clean_total += 1
            if output != text:
                report.altered_clean.append((text, output))
        else:
            report.texts[form] += 1
            leaks = [token for entity in record["entities"] for token in leaked(output, entity["secrets"])]
            if leaks:
                report.leaks[form].append((text, output, leaks))
            else:
                report.cleaned[form] += 1
        gold = record["entities"]
        found = analyze(text)
        for entity in gold:
            hit = any(t == entity["type"] and s < entity["end"] and entity["start"] < e for t, s, e in found)
            report.tp[entity["type"]] += hit
            report.fn[entity["type"]] += not hit
            report.form_tp[form] += hit
            report.form_fn[form] += not hit
        for t, s, e in found:
            if not any(t == g["type"] and s < g["end"] and g["start"] < e for g in gold):
                report.fp[t] += 1
                report.form_fp[form] += 1
                report.false_positives[t].append((text, text[s:e]))
    return report
