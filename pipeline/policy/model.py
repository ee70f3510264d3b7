"""Policy schema (pydantic): every section and field documented; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.keys.epochs import PERIODS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(Strict):
    """How one input field (dotted path into the event) becomes output columns."""

    operator: str = Field(..., description="operator name from the registry")
    params: dict = Field(default_factory=dict, description="operator parameters, validated by the operator")
    output: str | None = Field(None, description="output column (single-output operators); default per operator")


class KeysSection(Strict):
    """Pseudonymization keys: one per epoch, so pseudonyms of different epochs cannot be linked."""

    rotation: Literal[PERIODS] = Field("monthly", description="epoch of one pseudonymization key")  # type: ignore[valid-type]


class ValidationSection(Strict):
    """Which event times are accepted; events outside the range go to the dead-letter topic."""

    max_age_days: float = Field(30, gt=0, description="older events are dead-lettered")
    max_future_minutes: float = Field(15, ge=0, description="events further in the future are dead-lettered")


class Hierarchy(Strict):
    """Generalization ladder of one quasi-identifier for the streaming roll-up."""

    kind: Literal["h3", "star", "districts"] = Field(
        "star", description="h3: parent cells at `resolutions`, then *; star: value → *; districts: H3 cell → "
                            "district → city → * (the policy's `districts` section, filled in when it loads)")
    resolutions: list[int] = Field(default_factory=list, description="h3 parent resolutions, finest first")
    geojson: str | None = Field(None, description="districts only: copied from the policy's districts section")
    city: str | None = Field(None, description="districts only: copied from the policy's districts section")
    name_property: str | None = Field(None, description="districts only: copied from the policy's districts section")

    @property
    def height(self) -> int:
        """How many times a value can be raised before it is '*'."""
        return {"h3": len(self.resolutions) + 1, "districts": 3}.get(self.kind, 1)


class PrivacyModelSpec(Strict):
    """A privacy model of pipeline/privacy/ by registry name, e.g. {name: distinct-l-diversity, params: {l: 2}}."""

    name: str = Field(..., description="registry name: k-anonymity, distinct-l-diversity, entropy-l-diversity, "
                                       "t-closeness (pipeline/privacy/registry.py)")
    params: dict[str, Any] = Field(default_factory=dict, description="the model's parameters, e.g. {l: 2}")


class WindowSection(Strict):
    """Tumbling event-time windows: each window's cells are released once it closes."""

    size_seconds: int = Field(3600, gt=0, description="window length")
    grace_seconds: int = Field(600, ge=0, description="how long after a window ends late events still count")


class DomainColumn(Strict):
    """The public values of one column in a `dp` release; anything else is published as 'other'."""

    values: list[str] = Field(..., min_length=1, description="public values (never taken from the data)")
    h3_resolution: int | None = Field(None, description="h3 columns: raise values to this resolution first "
                                                           "(one of the hierarchy's resolutions)")


class DPSection(Strict):
    """Differentially private release (pipeline/dp/, docs/dp.md): budgets, person-level bounds, public domain."""

    epsilon_per_window: float = Field(1.0, gt=0, le=10, description="ε one window's release spends (all stage "
                                                                   "partitions together)")
    epsilon_per_period: float = Field(24.0, gt=0, description="ε a period may spend in total; then nothing more")
    period: Literal["day", "month"] = Field("day", description="budget period (UTC)")
    delta_per_window: float = Field(1e-6, gt=0, lt=1e-3, description="δ of the noisy cell selection (`both`)")
    max_cells: int = Field(3, ge=1, le=1000, description="cells one person may count in per window")
    max_events: int = Field(10, ge=1, le=100_000, description="events one person may count per window")
    events_share: float = Field(0.45, gt=0, lt=1, description="share of the window's ε for event counts")
    users_share: float = Field(0.45, gt=0, lt=1, description="share for people counts (or the noisy selection)")
    domain: dict[str, DomainColumn] = Field(default_factory=lambda: {
        "event_type": DomainColumn(values=["app_open", "screen_view", "search", "appeal_submit", "appeal_status",
                                           "map_view", "push_open", "login", "logout", "error"]),
        "os_family": DomainColumn(values=["Android", "iOS", "Windows", "macOS", "Linux", "HarmonyOS"]),
        "device_class": DomainColumn(values=["phone", "tablet", "desktop"])},
        description="`dp` mode: public values per column; a column not listed is published as '*'")

    @model_validator(mode="after")
    def _shares_leave_room(self):
        if self.events_share + self.users_share >= 1:
            raise ValueError("events_share + users_share must leave a share for the count of bounded people")
        if self.epsilon_per_period < self.epsilon_per_window:
            raise ValueError("epsilon_per_period is smaller than one window's epsilon: nothing could be published")
        return self


class KAnonSection(Strict):
    """Streaming k-anonymity aggregation (see pipeline/kanon/core.py for the algorithm and its argument)."""

    k: int = Field(5, ge=2, description="minimum distinct people in every published cell")
    subject_columns: list[str] = Field(
        ["user_pseudonym", "device_pseudonym", "cookie_pseudonym", "session_pseudonym"], min_length=1,
        description="identifier columns; identifiers seen together in an event are one person (pipeline/linkage.py)")
    models: list[PrivacyModelSpec] = Field(default_factory=list,
                                           description="privacy models tested on every cell besides k-anonymity")
    sensitive_column: str | None = Field(None, description="column whose values l-diversity / t-closeness protect")
    window: WindowSection = Field(WindowSection(), description="event-time windows released one at a time")
    partition_column: str = Field("event_type", description="never generalized; keys cells to workers")
    quasi_identifiers: dict[str, Hierarchy] = Field(
        default_factory=lambda: {"geo_h3": Hierarchy(kind="h3", resolutions=[7, 6]), "app_major": Hierarchy(),
                                 "device_class": Hierarchy(), "os_family": Hierarchy()},
        description="columns an attacker may know about a person, each with its generalization ladder")
    rollup_order: list[str] = Field(
        ["geo_h3", "geo_h3", "app_major", "device_class", "os_family", "geo_h3"],
        description="each entry raises that quasi-identifier one level; cells still under k after the last are suppressed")
    dimensions: dict[str, Hierarchy] = Field(
        default_factory=dict,
        description="analysis columns (e.g. service, screen, status) kept in the cells beside the quasi-identifiers; "
                    "they take part in the k check and roll up like them (name them in rollup_order)")
    release: Literal["k_anonymity", "dp", "both"] = Field(
        "k_anonymity", description="k_anonymity: exact counts of cells with ≥ k people; dp: noisy counts on the public "
                                   "domain; both: cells chosen by a noisy threshold ≥ k, noisy counts (docs/dp.md)")
    dp: DPSection = Field(DPSection(), description="parameters of the `dp` and `both` releases")

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
            levels = hierarchy.height
            if steps > levels:
                raise ValueError(f"rollup_order raises {name!r} {steps} times but its hierarchy has {levels} levels")
        if self.partition_column in self.quasi_identifiers:
            raise ValueError("partition_column must not be a generalized quasi-identifier")
        self._dp_domain_matches()
        return self

    def _dp_domain_matches(self) -> None:
        size = 1
        explicit = "domain" in self.dp.model_fields_set  # the default domain may name columns a policy dropped
        for name, column in self.dp.domain.items():
            if name != self.partition_column and name not in self.cell_attributes:
                if not explicit:
                    continue
                raise ValueError(f"kanon.dp.domain names {name!r}, which is neither the partition column nor a "
                                 "quasi-identifier or dimension")
            if column.h3_resolution is not None:
                hierarchy = self.cell_attributes.get(name)
                if hierarchy is None or hierarchy.kind != "h3" or column.h3_resolution not in hierarchy.resolutions:
                    raise ValueError(f"kanon.dp.domain.{name}.h3_resolution must be one of the h3 hierarchy's "
                                     "resolutions")
            size *= len(set(column.values)) + 1  # + 'other'
        if size > 100_000:
            raise ValueError(f"kanon.dp.domain has {size:,} cells; at most 100,000 (each is noised every window)")


class RetentionSection(Strict):
    """How long each copy of the data is kept (`anonpipe lake retention` / `lake maintain` delete the rest)."""

    raw_topic_hours: int = Field(24, gt=0, description="retention of the raw input topic (personal data)")
    dlq_days: int = Field(7, gt=0, description="dead-lettered events (raw, may hold personal data)")
    pseudonymized_days: int = Field(30, gt=0, description="the restricted pseudonymized zone")
    aggregates_days: int = Field(730, gt=0, description="k-anonymous aggregates (shareable)")
    window_stats_days: int = Field(730, gt=0, description="per-window release statistics (shareable)")
    people_days: int = Field(730, gt=0, description="daily and monthly distinct people (shareable)")


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

    version: str = Field(..., min_length=1, max_length=64, description="written into every output row "
                         "(policy_version), so each row says which rules made it")
    description: str = Field("", description="what this policy is for (free text)")
    fields: dict[str, FieldRule] = Field(..., description="input field (dotted path) → its rule; fields not "
                                         "named are dropped")
    keys: KeysSection = Field(KeysSection(), description="pseudonymization keys")
    validation: ValidationSection = Field(ValidationSection(), description="accepted event times")
    kanon: KAnonSection = Field(KAnonSection(), description="the streaming k-anonymous release")
    retention: RetentionSection = Field(RetentionSection(), description="how long each copy of the data is kept")
    timezone: str = Field("Asia/Almaty", description="IANA zone of the deployment: local days, hours of day and "
                          "weekdays in the report, query views and extract date hierarchies (docs/columns.md)")
    districts: DistrictsSection | None = Field(None, description="the deployment's district polygons (GeoJSON): "
                                               "H3 cells roll up cell → district → city in reports and extracts")

    @model_validator(mode="before")
    @classmethod
    def _districts_into_ladders(cls, data):
        """A `kind: districts` ladder reads the policy's one districts section (named once, used everywhere)."""
        if not isinstance(data, dict) or not isinstance(data.get("kanon"), dict):
            return data
        kanon = data["kanon"]
        for section in ("quasi_identifiers", "dimensions"):
            ladders = kanon.get(section)
            if not isinstance(ladders, dict):
                continue
            for name, ladder in ladders.items():
                if isinstance(ladder, dict) and ladder.get("kind") == "districts":
                    districts = data.get("districts")
                    if not isinstance(districts, dict) or not districts.get("geojson"):
                        raise ValueError(f"kanon.{section}.{name}: kind districts needs the policy's districts "
                                         "section (districts: {geojson: FILE})")
                    ladders[name] = {**ladder, "geojson": districts["geojson"],
                                     "city": districts.get("city", "city"),
                                     "name_property": districts.get("name_property", "name")}
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; give an IANA name such as Asia/Almaty") from None
        return name
