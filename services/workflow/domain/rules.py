"""The workflow's rules file: its schema and a parser that names the offending line."""

import re
import tomllib
from datetime import timedelta
from typing import Annotated

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

from shared.vocabulary import Category, Priority, Team


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


class Rules(_Strict):
    routing: RoutingRules
    priority: PriorityRules
    sla: SlaRules
    escalation: EscalationRules
    persistence: PersistenceRules
    confirmation: ConfirmationRules


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
    """The line that sets `loc` (a table header plus a key), or the table's header line."""
    section: list[str] = []
    header_line: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if header := re.fullmatch(r"\[([^\]]+)\]", line):
            section = [part.strip() for part in header.group(1).split(".")]
            if section == loc:
                header_line = number
            continue
        key = re.match(r"([A-Za-z0-9_-]+)\s*=", line)
        if key and [*section, key.group(1)] == loc[: len(section) + 1]:
            return number
    return header_line
