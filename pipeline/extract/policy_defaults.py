"""What the policy tells an extract: QI ladders shared with the stream, the time zone, identifier columns."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pipeline.hierarchies import HierarchySpec, builder_spec, spec_from_policy
from pipeline.hierarchies.dates import DEFAULT_TIME_ZONE
from pipeline.policy.source import PolicyError, load_policy_settings, resolve_policy_path

PSEUDONYM_OPERATOR = "hmac_pseudonym"
# Event-level columns that identify an event (a join key back to the lake and to backend logs).
EVENT_IDENTIFIERS = ("event_id", "batch_id")
# A timestamp column without a policy ladder climbs hour -> day -> ISO week in the policy's zone.
DEFAULT_TIME_LADDER = "hour,day,week"


class PolicyDefaultsError(ValueError):
    """The policy file cannot be read for the extract's defaults."""


@dataclass(frozen=True)
class PolicyDefaults:
    """The parts of a policy an extract uses; built without compiling operators (fast, no NLP models)."""

    source: str
    time_zone: str = DEFAULT_TIME_ZONE
    ladders: dict = field(default_factory=dict)  # column -> policy Hierarchy model
    identifiers: tuple[str, ...] = EVENT_IDENTIFIERS

    @property
    def hierarchy_defaults(self) -> dict[str, str]:
        return {"time_zone": self.time_zone}

    def spec_for(self, column: str, is_timestamp: bool) -> HierarchySpec:
        """The policy's ladder for ``column``; else `date:hour,day,week` for a timestamp; else `star`."""
        if column in self.ladders:
            return spec_from_policy(column, self.ladders[column], self.hierarchy_defaults)
        if is_timestamp:
            return builder_spec(column, "date", DEFAULT_TIME_LADDER, defaults=self.hierarchy_defaults)
        return builder_spec(column, "star", "")


def load_policy_defaults(path: str | os.PathLike | None = None) -> PolicyDefaults:
    """Read the policy (``path``, $ANONPIPE_POLICY or the bundled default) and pick out the extract's defaults."""
    source = resolve_policy_path(path)
    try:
        policy = load_policy_settings(source)  # the model alone: an extract builds no stream operator
    except PolicyError as exc:
        raise PolicyDefaultsError(str(exc)) from None
    ladders = dict(policy.kanon.quasi_identifiers)
    # Policy dimensions (properties.service, …) carry ladders too where the policy defines them.
    for holder in (policy, policy.kanon):
        ladders.update({name: h for name, h in (getattr(holder, "dimensions", None) or {}).items()
                        if hasattr(h, "kind")})
    pseudonyms = tuple(rule.output or f"{name.replace('.', '_')}_pseudonym"
                       for name, rule in policy.fields.items() if rule.operator == PSEUDONYM_OPERATOR)
    time_zone = getattr(policy, "time_zone", None) or getattr(policy, "timezone", None) or DEFAULT_TIME_ZONE
    return PolicyDefaults(str(source), str(time_zone), ladders, pseudonyms + EVENT_IDENTIFIERS)
