"""Policy schema (pydantic): every section and field documented; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.keys.ring import PERIODS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(Strict):
    """How one input field (dotted path into the event) becomes output columns."""

    operator: str = Field(..., description="operator name from the registry")
    params: dict = Field(default_factory=dict, description="operator parameters, validated by the operator")
    output: str | None = Field(None, description="output column (single-output operators); default per operator")


class KeysSection(Strict):
    rotation: Literal[PERIODS] = Field("monthly", description="epoch of one pseudonymization key")  # type: ignore[valid-type]


class ValidationSection(Strict):
    max_age_days: float = Field(30, gt=0, description="older events are dead-lettered")
    max_future_minutes: float = Field(15, ge=0, description="events further in the future are dead-lettered")


class Hierarchy(Strict):
    """Generalization ladder of one quasi-identifier for the streaming roll-up."""

    kind: Literal["h3", "star"] = Field("star", description="h3: parent cells at `resolutions`, then *; star: value → *")
    resolutions: list[int] = Field(default_factory=list, description="h3 parent resolutions, finest first")


class WindowSection(Strict):
    size_seconds: int = Field(3600, gt=0)
    grace_seconds: int = Field(600, ge=0, description="how long after a window ends late events still count")


class KAnonSection(Strict):
    """Streaming k-anonymity aggregation (see pipeline/kanon/core.py for the algorithm and its argument)."""

    k: int = Field(5, ge=2, description="minimum distinct subjects in every published cell")
    subject_columns: list[str] = Field(["user_pseudonym", "device_pseudonym"],
                                       description="first non-null column identifies the person counted for k")
    window: WindowSection = WindowSection()
    partition_column: str = Field("event_type", description="never generalized; keys cells to workers")
    quasi_identifiers: dict[str, Hierarchy] = Field(
        default_factory=lambda: {"geo_h3": Hierarchy(kind="h3", resolutions=[7, 6]), "app_major": Hierarchy(),
                                 "device_class": Hierarchy(), "os_family": Hierarchy()})
    rollup_order: list[str] = Field(
        ["geo_h3", "geo_h3", "app_major", "device_class", "os_family", "geo_h3"],
        description="each entry raises that quasi-identifier one level; cells still under k after the last are suppressed")
    dimensions: dict[str, Hierarchy] = Field(
        default_factory=dict,
        description="analysis columns (e.g. service, screen, status) kept in the cells beside the quasi-identifiers; "
                    "they take part in the k check and roll up like them (name them in rollup_order)")

    @property
    def cell_attributes(self) -> dict[str, Hierarchy]:
        """Every generalized column of a cell, in cell order: quasi-identifiers, then dimensions."""
        return {**self.quasi_identifiers, **self.dimensions}

    @model_validator(mode="after")
    def _rollup_matches_hierarchies(self):
        both = sorted(set(self.quasi_identifiers) & set(self.dimensions))
        if both:
            raise ValueError(f"{both[0]!r} is both a quasi-identifier and a dimension; name it once")
        if self.partition_column in self.dimensions:
            raise ValueError("partition_column must not be a generalized dimension")
        for name in self.rollup_order:
            if name not in self.cell_attributes:
                raise ValueError(f"rollup_order names {name!r}, which is not a quasi-identifier or dimension")
        for name, hierarchy in self.cell_attributes.items():
            steps = self.rollup_order.count(name)
            levels = len(hierarchy.resolutions) + 1 if hierarchy.kind == "h3" else 1
            if steps > levels:
                raise ValueError(f"rollup_order raises {name!r} {steps} times but its hierarchy has {levels} levels")
        if self.partition_column in self.quasi_identifiers:
            raise ValueError("partition_column must not be a generalized quasi-identifier")
        return self


class RetentionSection(Strict):
    raw_topic_hours: int = Field(24, gt=0)
    dlq_days: int = Field(7, gt=0)
    pseudonymized_days: int = Field(30, gt=0)
    aggregates_days: int = Field(730, gt=0)
    window_stats_days: int = Field(730, gt=0)


class DistrictsSection(Strict):
    """Where a deployment's district polygons are (see pipeline/hierarchies/districts.py)."""

    geojson: str = Field(..., min_length=1, description="GeoJSON FeatureCollection of (Multi)Polygons, one per "
                         "district; a relative path is taken from the working directory")
    name_property: str = Field("name", description="feature property holding the district name")
    city: str = Field("city", min_length=1, description="label of the level above the districts")

    @field_validator("geojson")
    @classmethod
    def _file_exists(cls, path: str) -> str:
        if not Path(path).is_file():
            raise ValueError(f"districts file {path} does not exist")
        return path


class Policy(Strict):
    """A deployment's privacy policy. `version` is written into every output row."""

    version: str = Field(..., min_length=1, max_length=64)
    description: str = ""
    fields: dict[str, FieldRule]
    keys: KeysSection = KeysSection()
    validation: ValidationSection = ValidationSection()
    kanon: KAnonSection = KAnonSection()
    retention: RetentionSection = RetentionSection()
    timezone: str = Field("Asia/Almaty", description="IANA zone of the deployment: local days, hours of day and "
                          "weekdays in the report, query views and extract date hierarchies (docs/columns.md)")
    districts: DistrictsSection | None = Field(None, description="the deployment's district polygons (GeoJSON): "
                                               "H3 cells roll up cell → district → city in reports and extracts")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; give an IANA name such as Asia/Almaty") from None
        return name
