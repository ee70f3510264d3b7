"""The extract's core, free of I/O: settings + table in, anonymized table + search facts out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.extract.lattice import Dimension, EncodedTable, encode_leaves
from pipeline.extract.people import default_subjects, is_identifier, subject_codes
from pipeline.extract.progress import SILENT, Progress
from pipeline.extract.quality import METRICS
from pipeline.extract.rekey import rekey_column
from pipeline.extract.risk import reidentification_risk
from pipeline.extract.search import NoSolutionError, SearchResult, evaluate_records, find_optimum
from pipeline.hierarchies.base import NULL_LEAF
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
    weights: tuple[tuple[str, float], ...] = ()
    """(QI, weight) pairs for the Loss/granularity score (ARX's attribute weights; unnamed QIs weigh 1)."""
    level_bounds: tuple[tuple[str, int | None, int | None], ...] = ()
    """(QI, min level, max level) the search may choose from (ARX's minimum/maximum generalization)."""
    subjects: tuple[str, ...] | None = None
    """Columns identifying the person of a record (linked into one person when they co-occur);
    None = the user/device/cookie pseudonym columns present; () = every record is its own person."""
    allow_identifiers: bool = False
    """Permit identifier columns (pseudonyms, event or session ids) in ``keep`` (warned in the report)."""
    known_identifiers: tuple[str, ...] = ()
    """Columns the policy knows as identifiers, besides those named like one."""
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
        qis = {s.column for s in self.qi}
        for column, weight in self.weights:
            if column not in qis:
                raise ExtractConfigError(f"--weight {column}: not a quasi-identifier (give it with --qi or --columns)")
            if not (math.isfinite(weight) and weight >= 0):
                raise ExtractConfigError(f"--weight {column}={weight}: a weight is a finite number >= 0")
        if self.weights and self.metric == "discernibility":
            raise ExtractConfigError("--weight applies to the loss and granularity metrics, not discernibility")
        for column, _, _ in self.level_bounds:
            if column not in qis:
                raise ExtractConfigError(f"--levels {column}: not a quasi-identifier (give it with --qi or --columns)")
        if self.subjects and qis & set(self.subjects):
            raise ExtractConfigError(f"subject column(s) {', '.join(sorted(qis & set(self.subjects)))} "
                                     "cannot be quasi-identifiers")
        named = sorted(c for c in self.keep if is_identifier(c, set(self.known_identifiers)))
        if named and not self.allow_identifiers:
            raise ExtractConfigError(
                f"--keep {', '.join(named)}: identifier column(s) (pseudonyms, event or session ids) would let the "
                "recipient single out people or join back to the lake; drop them, --rekey a person id, "
                "or pass --allow-identifiers"
            )

    def identifier_keeps(self) -> list[str]:
        """Kept columns that are identifiers (only possible with ``allow_identifiers``)."""
        return [c for c in self.keep if is_identifier(c, set(self.known_identifiers))]

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
    class_people: np.ndarray | None = None  # distinct people per released class (None: records are people)
    subject_columns: tuple[str, ...] = ()
    records_without_subject: int = 0
    people_released: int | None = None
    trajectories: dict | None = None  # rows per person when a re-keyed person id links them
    warnings: tuple[str, ...] = ()


def check_columns(settings: ExtractSettings, frame: pd.DataFrame) -> None:
    """Every named column exists and k fits the table; raises ExtractConfigError otherwise."""
    missing = [c for c in sorted(settings.released_columns | set(settings.subjects or ())) if c not in frame.columns]
    if missing:
        raise ExtractConfigError(
            f"unknown column(s) {', '.join(repr(c) for c in missing)}; "
            f"the input has: {', '.join(map(str, frame.columns))}"
        )
    if settings.k > len(frame):
        raise ExtractConfigError(f"k = {settings.k} is larger than the table ({len(frame)} records)")


def as_text(column: pd.Series) -> np.ndarray:
    """Values as strings, the form hierarchies are written in; nulls become the empty string (NULL_LEAF)."""
    # Format each distinct value once: lake columns repeat few values (hours, cells) over many rows.
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").fillna(NULL_LEAF).to_numpy(dtype=object)
    return np.append(text, NULL_LEAF).astype(object)[codes]


def subject_columns(settings: ExtractSettings, frame: pd.DataFrame) -> tuple[str, ...]:
    """The columns naming each record's person: as given, else the default pseudonyms present."""
    if settings.subjects is not None:
        return settings.subjects
    qis = {s.column for s in settings.qi}
    return tuple(c for c in default_subjects(frame.columns) if c not in qis)


def encode(frame: pd.DataFrame, settings: ExtractSettings, subjects: np.ndarray | None = None) -> EncodedTable:
    """Materialize every hierarchy and encode the QI (and sensitive) columns as integer codes."""
    weights = dict(settings.weights)
    bounds = {column: (low, high) for column, low, high in settings.level_bounds}
    dimensions, leaf_codes = [], []
    for spec in settings.qi:
        values = as_text(frame[spec.column])
        hierarchy = spec.materialize(np.array(sorted(pd.unique(values)), dtype=object))
        low, high = bounds.get(spec.column, (None, None))
        dimensions.append(Dimension(spec.column, hierarchy, spec.source, weight=weights.get(spec.column, 1.0),
                                    min_level=low or 0, max_level=high))
        leaf_codes.append(encode_leaves(spec.column, values, hierarchy))
    sensitive_codes, cardinality = None, 0
    if settings.sensitive is not None:
        codes, uniques = pd.factorize(as_text(frame[settings.sensitive]))
        sensitive_codes, cardinality = codes.astype(np.int64), len(uniques)
    return EncodedTable(dimensions, leaf_codes, sensitive_codes, cardinality, subjects)


def anonymize(frame: pd.DataFrame, settings: ExtractSettings, rekey_key: bytes | None = None,
              progress: Progress = SILENT) -> ExtractResult:
    """Find the optimal transformation and build the released table (suppressed records removed)."""
    check_columns(settings, frame)
    if settings.rekey and rekey_key is None:
        raise ExtractConfigError("--rekey needs a re-keying key")
    with progress.phase(f"encoding {len(frame)} records"):
        subjects = subject_columns(settings, frame)
        person, without_subject = subject_codes(frame, subjects)
        table = encode(frame, settings, person)
    metric = METRICS[settings.metric]()
    with progress.phase(f"searching {int(np.prod(table.max_levels - table.min_levels + 1))} transformations"):
        search = find_optimum(table, list(settings.models), metric, settings.suppression, progress=progress)

    # Re-derive the classes straight from the records, independently of the search's roll-ups.
    record_class, evaluation = evaluate_records(table, search.levels, list(settings.models))
    if evaluation.suppressed != search.evaluation.suppressed:
        raise RuntimeError("internal error: record-level evaluation disagrees with the search")
    kept = evaluation.passes[record_class]

    released = frame.loc[kept, [c for c in frame.columns if c in settings.released_columns]].copy()
    for i, (dim, level) in enumerate(zip(table.dimensions, search.levels)):
        labels = dim.hierarchy.level_values(level)[dim.up_map(0, level)[table.row_codes[kept, i]]]
        # A null leaf is released as a null, not as an empty label.
        released[dim.column] = pd.Series(labels, index=released.index, dtype=object).replace(NULL_LEAF, None)
    for column in settings.rekey:
        released[column] = rekey_column(released[column], rekey_key)
    released = released.reset_index(drop=True)

    sizes = evaluation.sizes[evaluation.passes]
    people = evaluation.people[evaluation.passes] if evaluation.people is not None else None
    person_kept = person[kept] if person is not None else None
    rekeyed_people = [c for c in settings.rekey if c in subjects or is_identifier(c, set(settings.known_identifiers))]
    warnings = _warnings(settings, table, search, rekeyed_people)
    return ExtractResult(
        released=released,
        search=search,
        settings=settings,
        dimensions=table.dimensions,
        input_records=table.n_records,
        suppressed_records=evaluation.suppressed,
        class_sizes=sizes,
        achieved_k=int((people if people is not None else sizes).min()) if len(sizes) else 0,  # in people
        achieved_l=_achieved_l(table, record_class[kept], kept),
        qi_loss=metric.per_qi(evaluation),
        # The input is the attacker's population; suppression removes whole classes, so the
        # population class of every released record is its released class.
        risk=reidentification_risk(people if people is not None else sizes,
                                   people if people is not None else sizes, settings.risk_threshold, records=sizes),
        dropped_columns=[c for c in frame.columns if c not in settings.released_columns],
        class_people=people,
        subject_columns=subjects,
        records_without_subject=without_subject,
        people_released=int(len(np.unique(person_kept))) if person_kept is not None else None,
        trajectories=_trajectories(released, rekeyed_people) if rekeyed_people else None,
        warnings=warnings,
    )


def _trajectories(released: pd.DataFrame, columns: list[str]) -> dict:
    """What a recipient can link with the re-keyed ids: people (linked ids) and rows per person."""
    person, unlinked = subject_codes(released, tuple(columns))
    if person is None or not len(person):
        return {"columns": columns, "people": 0, "max_rows_per_person": 0, "median_rows_per_person": 0.0}
    rows = np.bincount(person)
    if unlinked:  # rows without any re-keyed id link to nothing: they are not a trajectory
        rows = rows[:-1]
    return {"columns": columns, "people": int(len(rows)), "max_rows_per_person": int(rows.max(initial=0)),
            "median_rows_per_person": float(np.median(rows)) if len(rows) else 0.0}


def _warnings(settings: ExtractSettings, table: EncodedTable, search: SearchResult, rekeyed: list[str]) -> tuple:
    """Plain-language warnings a reviewer must see before the extract leaves the house."""
    out = []
    for dim, level in zip(table.dimensions, search.levels):
        if level == dim.height:
            out.append(f"{dim.column} is fully generalized (every value released as '*'): it carries no "
                       "information; raise its weight, lower k, or drop it")
    for column in settings.identifier_keeps():
        out.append(f"{column} is an identifier column released unchanged (--allow-identifiers)")
    for column in rekeyed:
        out.append(f"{column} is a re-keyed person id: each person's rows form a linkable trajectory")
    return tuple(out)


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
