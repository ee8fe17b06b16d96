"""The workflow's rules file: its schema and a parser that names the offending line."""

import re
import tomllib
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class Rules(_Strict):
    routing: RoutingRules
    priority: PriorityRules


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
