"""The workflow's rules file: its schema and a parser that names the offending line."""

import re
import tomllib
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.incidents import Severity
from shared.vocabulary import Category, Priority, Slug, Team


class RulesError(ValueError):
    """The rules file is wrong; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoutingRules(_Strict):
    default_team: Team
    teams: dict[Category, Team]


class PriorityRules(_Strict):
    many_users_threshold: Annotated[int, Field(ge=2)]
    many_users_team: Team
    many_users_priority: Priority
    default: Priority
    by_category: dict[Category, Priority]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def _duration(value: object) -> object:
    """ "90m", "3d", "2w" as a timedelta; numbers pass through as seconds."""
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 90m, 4h, 3d or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


Duration = Annotated[timedelta, BeforeValidator(_duration), Field(gt=timedelta(0))]


class SlaTargets(_Strict):
    first_response: Duration
    keep_in_loop: Duration
    resolution: Duration


class SlaRules(_Strict):
    p1: SlaTargets
    p2: SlaTargets
    p3: SlaTargets
    p4: SlaTargets
    resolution_by_category: dict[Category, Duration] = {}

    def targets(self, priority: Priority, category: Category) -> SlaTargets:
        targets: SlaTargets = getattr(self, priority.value)
        resolution = self.resolution_by_category.get(category)
        return targets.model_copy(update={"resolution": resolution}) if resolution else targets


class EscalationRules(_Strict):
    tiers: Annotated[list[str], Field(min_length=1)]
    default_tier: str
    starting_tier: dict[Category, str] = {}

    @field_validator("tiers")
    @classmethod
    def _tiers_distinct(cls, tiers: list[str]) -> list[str]:
        if len(set(tiers)) != len(tiers):
            raise ValueError("tiers must be distinct")
        return tiers

    @model_validator(mode="after")
    def _tiers_known(self) -> "EscalationRules":
        """Each unknown tier is reported at its own key, so the error names its line."""
        named = [(("default_tier",), self.default_tier)] + [
            (("starting_tier", category.value), tier)
            for category, tier in self.starting_tier.items()
        ]
        unknown = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "unknown_tier",
                    "unknown tier {tier}; tiers are {tiers}",
                    {"tier": tier, "tiers": ", ".join(self.tiers)},
                ),
                loc=loc,
                input=tier,
            )
            for loc, tier in named
            if tier not in self.tiers
        ]
        if unknown:
            raise ValidationError.from_exception_data(type(self).__name__, unknown)
        return self

    def first_tier(self, category: Category) -> str:
        return self.starting_tier.get(category, self.default_tier)

    def next_tier(self, tier: str) -> str | None:
        """The tier above `tier`, or None at the top."""
        position = self.tiers.index(tier) if tier in self.tiers else -1
        return self.tiers[position + 1] if position + 1 < len(self.tiers) else None


class PersistenceRules(_Strict):
    reopen_threshold: Annotated[int, Field(ge=1)]
    propose_on_resolution_breach: bool
    default_alternative: Annotated[str, Field(min_length=1)]
    alternatives: dict[Category, Annotated[str, Field(min_length=1)]] = {}

    def alternative_for(self, category: Category) -> str:
        return self.alternatives.get(category, self.default_alternative)


class ConfirmationRules(_Strict):
    window: Duration
    close_resolved_after: Duration


# The fields of `shared.events.AffectedService` a burst of tickets can share.
ServiceAttribute = Literal["region", "carrier_route", "number_range", "product"]


class DetectionRule(_Strict):
    """So many tickets of one category on one service value within a while: an outage."""

    name: Slug
    category: Category
    attribute: ServiceAttribute
    tickets: Annotated[int, Field(ge=2)]
    within: Duration
    severity: Severity


class IncidentRules(_Strict):
    priority: Priority  # a ticket linked to an outage takes this priority, if it is higher
    linkable_categories: Annotated[list[Category], Field(min_length=1)]
    detection: list[DetectionRule] = []

    @model_validator(mode="after")
    def _detection_consistent(self) -> "IncidentRules":
        """A detected outage must be able to link the tickets that revealed it, and each
        rule has a name of its own; each problem is reported at its key, to name its line."""
        problems = [
            _problem(("detection", index, key), value, message)
            for index, rule in enumerate(self.detection)
            for key, value, message in _detection_problems(rule, self)
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _detection_problems(rule: DetectionRule, rules: IncidentRules) -> list[tuple[str, str, str]]:
    problems = []
    if rule.category not in rules.linkable_categories:
        message = f"category {rule.category.value} is not among incidents.linkable_categories"
        problems.append(("category", rule.category.value, message))
    if [other.name for other in rules.detection].count(rule.name) > 1:
        problems.append(("name", rule.name, f"detection rule {rule.name} is named twice"))
    return problems


def _problem(loc: tuple[int | str, ...], value: str, message: str) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("inconsistent_rule", message), loc=loc, input=value
    )


class Rules(_Strict):
    routing: RoutingRules
    priority: PriorityRules
    sla: SlaRules
    escalation: EscalationRules
    persistence: PersistenceRules
    confirmation: ConfirmationRules
    incidents: IncidentRules


def parse_rules(text: str, source: str = "rules.toml") -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{source}: {error}") from error
    try:
        return Rules.model_validate(data)
    except ValidationError as error:
        problems = [_describe(text, source, e["loc"], e["msg"]) for e in error.errors()]
        raise RulesError("\n".join(problems)) from error


def _describe(text: str, source: str, loc: tuple[int | str, ...], msg: str) -> str:
    path = ".".join(str(part) for part in loc)
    line = _line_of(text, [str(part) for part in loc])
    where = f"{source}:{line}" if line else source
    return f"{where}: {path}: {msg}"


def _line_of(text: str, loc: list[str]) -> int | None:
    """The line that sets `loc` (a table header plus a key), or the header of the table
    that should have set it.

    An array of tables (`[[incidents.detection]]`) counts its entries, as `loc` does.
    """
    section: list[str] = []
    header_line: int | None = None
    deepest = 0
    entries: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if header := re.fullmatch(r"\[\[([^\]]+)\]\]|\[([^\]]+)\]", line):
            section = _section(header, entries)
            if section == loc[: len(section)] and len(section) > deepest:
                header_line, deepest = number, len(section)
            continue
        key = re.match(r"([A-Za-z0-9_-]+)\s*=", line)
        if key and [*section, key.group(1)] == loc[: len(section) + 1]:
            return number
    return header_line


def _section(header: re.Match[str], entries: dict[str, int]) -> list[str]:
    array, table = header.groups()
    path = [part.strip() for part in (array or table).split(".")]
    if array is None:
        return path
    entries[array] = entries.get(array, -1) + 1
    return [*path, str(entries[array])]
