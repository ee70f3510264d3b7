"""The extract's core, free of I/O: settings + table in, anonymized table + search facts out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.extract.lattice import Dimension, EncodedTable, encode_leaves
from pipeline.extract.quality import METRICS
from pipeline.extract.rekey import rekey_column
from pipeline.extract.risk import reidentification_risk
from pipeline.extract.search import NoSolutionError, SearchResult, evaluate_records, find_optimum
from pipeline.hierarchies.registry import HierarchySpec
from pipeline.privacy import PrivacyModel, create_model

L_VARIANTS = {"distinct": "distinct-l-diversity", "entropy": "entropy-l-diversity"}


class ExtractConfigError(ValueError):
    """The extract settings do not fit each other or the input table."""


@dataclass(frozen=True)
class ExtractSettings:
    """What to release and how strongly to protect it; validated once by ``validate``."""

    qi: tuple[HierarchySpec, ...]
    """Quasi-identifiers, each with its generalization hierarchy."""
    k: int
    """Minimum equivalence-class size (k-anonymity)."""
    sensitive: str | None = None
    """Sensitive attribute, released as is and protected by l-diversity / t-closeness."""
    l: float | None = None
    """Required l of l-diversity for the sensitive attribute."""
    l_variant: str = "distinct"
    """`distinct` or `entropy` l-diversity."""
    t: float | None = None
    """Required t of equal-distance t-closeness for the sensitive attribute."""
    suppression: float = 0.0
    """Largest share of records that may be suppressed (whole failing classes are removed)."""
    metric: str = "loss"
    """Quality model minimized by the search: loss, granularity or discernibility."""
    keep: tuple[str, ...] = ()
    """Insensitive columns released unchanged."""
    rekey: tuple[str, ...] = ()
    """Pseudonym columns released re-keyed for the recipient."""
    risk_threshold: float = 0.2
    """Records whose re-identification risk exceeds this are counted in the report."""
    models: tuple[PrivacyModel, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()
        models = [create_model("k-anonymity", k=self.k)]
        if self.l is not None:
            models.append(create_model(L_VARIANTS[self.l_variant], l=self.l))
        if self.t is not None:
            models.append(create_model("t-closeness", t=self.t))
        object.__setattr__(self, "models", tuple(models))

    def validate(self) -> None:
        if not self.qi:
            raise ExtractConfigError("give at least one --qi COL=HIERARCHY")
        if not 0 <= self.suppression < 1:
            raise ExtractConfigError(f"--suppression must be in [0, 1), got {self.suppression}")
        if self.metric not in METRICS:
            raise ExtractConfigError(f"unknown metric {self.metric!r}; known: {', '.join(METRICS)}")
        if self.l_variant not in L_VARIANTS:
            raise ExtractConfigError(f"unknown l-diversity variant {self.l_variant!r}; known: {', '.join(L_VARIANTS)}")
        if (self.l is not None or self.t is not None) and self.sensitive is None:
            raise ExtractConfigError("--l and --t need a --sensitive column")
        roles = [s.column for s in self.qi] + [self.sensitive] * (self.sensitive is not None)
        roles += list(self.keep) + list(self.rekey)
        repeated = sorted({c for c in roles if roles.count(c) > 1})
        if repeated:
            raise ExtractConfigError(f"column(s) given more than one role: {', '.join(repeated)}")

    @property
    def released_columns(self) -> set[str]:
        columns = {s.column for s in self.qi} | set(self.keep) | set(self.rekey)
        return columns | ({self.sensitive} if self.sensitive else set())


@dataclass(frozen=True)
class ExtractResult:
    """The released table and everything the report states about it."""

    released: pd.DataFrame
    search: SearchResult
    settings: ExtractSettings
    dimensions: list[Dimension]
    input_records: int
    suppressed_records: int
    class_sizes: np.ndarray  # sizes of the released equivalence classes
    achieved_k: int
    achieved_l: dict
    qi_loss: dict | None
    risk: dict
    dropped_columns: list[str]


def check_columns(settings: ExtractSettings, frame: pd.DataFrame) -> None:
    """Every named column exists and k fits the table; raises ExtractConfigError otherwise."""
    missing = [c for c in sorted(settings.released_columns) if c not in frame.columns]
    if missing:
        raise ExtractConfigError(
            f"unknown column(s) {', '.join(repr(c) for c in missing)}; "
            f"the input has: {', '.join(map(str, frame.columns))}"
        )
    if settings.k > len(frame):
        raise ExtractConfigError(f"k = {settings.k} is larger than the table ({len(frame)} records)")


def as_text(column: pd.Series) -> np.ndarray:
    """Values as strings, the form hierarchies are written in; nulls become the empty string."""
    return column.astype("string").fillna("").to_numpy(dtype=object)


def encode(frame: pd.DataFrame, settings: ExtractSettings) -> EncodedTable:
    """Materialize every hierarchy and encode the QI (and sensitive) columns as integer codes."""
    dimensions, leaf_codes = [], []
    for spec in settings.qi:
        values = as_text(frame[spec.column])
        hierarchy = spec.materialize(np.array(sorted(pd.unique(values)), dtype=object))
        dimensions.append(Dimension(spec.column, hierarchy, spec.source))
        leaf_codes.append(encode_leaves(spec.column, values, hierarchy))
    sensitive_codes, cardinality = None, 0
    if settings.sensitive is not None:
        codes, uniques = pd.factorize(as_text(frame[settings.sensitive]))
        sensitive_codes, cardinality = codes.astype(np.int64), len(uniques)
    return EncodedTable(dimensions, leaf_codes, sensitive_codes, cardinality)


def anonymize(frame: pd.DataFrame, settings: ExtractSettings, rekey_key: bytes | None = None,
              progress: bool = False) -> ExtractResult:
    """Find the optimal transformation and build the released table (suppressed records removed)."""
    check_columns(settings, frame)
    if settings.rekey and rekey_key is None:
        raise ExtractConfigError("--rekey needs a secret (ANONPIPE_EXTRACT_SECRET or --secret-file) and --recipient")
    table = encode(frame, settings)
    metric = METRICS[settings.metric]()
    search = find_optimum(table, list(settings.models), metric, settings.suppression, progress=progress)

    # Re-derive the classes straight from the records, independently of the search's roll-ups.
    record_class, evaluation = evaluate_records(table, search.levels, list(settings.models))
    if evaluation.suppressed != search.evaluation.suppressed:
        raise RuntimeError("internal error: record-level evaluation disagrees with the search")
    kept = evaluation.passes[record_class]

    released = frame.loc[kept, [c for c in frame.columns if c in settings.released_columns]].copy()
    for i, (dim, level) in enumerate(zip(table.dimensions, search.levels)):
        labels = dim.hierarchy.level_values(level)[dim.up_map(0, level)[table.row_codes[kept, i]]]
        released[dim.column] = pd.Series(labels, index=released.index, dtype=object).astype(str)
    for column in settings.rekey:
        released[column] = rekey_column(released[column], rekey_key)
    released = released.reset_index(drop=True)

    sizes = evaluation.sizes[evaluation.passes]
    return ExtractResult(
        released=released,
        search=search,
        settings=settings,
        dimensions=table.dimensions,
        input_records=table.n_records,
        suppressed_records=evaluation.suppressed,
        class_sizes=sizes,
        achieved_k=int(sizes.min()) if len(sizes) else 0,
        achieved_l=_achieved_l(table, record_class[kept], kept),
        qi_loss=metric.per_qi(evaluation),
        # The input is the attacker's population; suppression removes whole classes, so the
        # population class of every released record is its released class.
        risk=reidentification_risk(sizes, sizes, settings.risk_threshold),
        dropped_columns=[c for c in frame.columns if c not in settings.released_columns],
    )


def _achieved_l(table: EncodedTable, classes: np.ndarray, kept: np.ndarray) -> dict:
    """Smallest distinct and entropy l over the released classes (empty without a sensitive column)."""
    if table.row_sensitive is None or not kept.any():
        return {}
    pairs = pd.DataFrame({"c": classes, "s": table.row_sensitive[kept]}).value_counts()
    per_class = pairs.groupby(level="c")
    distinct = per_class.size()
    shares = pairs / per_class.transform("sum")
    entropy = (-(shares * np.log(shares))).groupby(level="c").sum()
    return {"distinct": int(distinct.min()), "entropy": float(np.exp(entropy.min()))}


__all__ = ["ExtractConfigError", "ExtractResult", "ExtractSettings", "NoSolutionError", "anonymize", "check_columns"]
