"""The rules file: the shipped one parses; a wrong one is refused, naming the line."""

from datetime import timedelta

import pytest

from services.workflow.domain.rules import RulesError, parse_rules
from shared.vocabulary import Category, Priority, Team
from tests.unit.examples import replace_line, shipped_rules, shipped_rules_text


def test_the_shipped_rules_file_parses() -> None:
    rules = shipped_rules()

    assert rules.routing.default_team is Team.LEVEL_1
    assert rules.routing.teams[Category.SERVICE_OUTAGE] is Team.INCIDENT
    assert rules.priority.many_users_threshold == 50
    assert rules.priority.by_category[Category.SERVICE_OUTAGE] is Priority.P1
    assert rules.sla.p1.first_response == timedelta(minutes=15)
    assert rules.sla.resolution_by_category[Category.COMPLEX_TECHNICAL] == timedelta(weeks=4)
    assert rules.escalation.tiers == ["level_1", "level_2", "engineering_lead"]
    assert rules.persistence.reopen_threshold == 2
    assert rules.confirmation.window == timedelta(days=3)


@pytest.mark.parametrize(
    ("after", "old", "new", "path"),
    [
        (
            "[routing]",
            'default_team = "level_1_support"',
            'default_team = "sales"',
            "routing.default_team",
        ),
        (
            "[routing.teams]",
            'call_quality = "level_2_support"',
            'call_quality = "level_9_support"',
            "routing.teams.call_quality",
        ),
        (
            "[priority]",
            "many_users_threshold = 50",
            "many_users_threshold = 1",
            "priority.many_users_threshold",
        ),
        (
            "[priority.by_category]",
            'call_quality = "p2"',
            'call_quality = "urgent"',
            "priority.by_category.call_quality",
        ),
        (
            "[routing.teams]",
            'other = "level_1_support"',
            'fax_machines = "level_1_support"',
            "routing.teams.fax_machines.[key]",
        ),
        ("[priority]", 'default = "p3"', 'default = "p3"\ncolour = "blue"', "priority.colour"),
    ],
    ids=[
        "unknown-default-team",
        "unknown-team-for-a-category",
        "threshold-too-low",
        "unknown-priority",
        "unknown-category",
        "unknown-key",
    ],
)
def test_a_wrong_rule_is_refused_naming_its_line(after: str, old: str, new: str, path: str) -> None:
    text, wrong_line = replace_line(shipped_rules_text(), old, new, after=after)

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    assert f"rules.toml:{wrong_line}: {path}:" in str(refused.value)


def test_the_line_named_is_in_the_table_that_is_wrong() -> None:
    # call_quality is set in two tables; only the routing one is wrong here.
    text, number = replace_line(
        shipped_rules_text(),
        'call_quality = "level_2_support"',
        'call_quality = "nobody"',
        after="[routing.teams]",
    )
    other_number = text.splitlines().index('call_quality = "p2"') + 1

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    message = str(refused.value)
    assert f"rules.toml:{number}: routing.teams.call_quality:" in message
    assert f"rules.toml:{other_number}:" not in message


def test_a_toml_syntax_error_names_its_line() -> None:
    text, number = replace_line(shipped_rules_text(), 'default = "p3"', "default = ")

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    assert str(refused.value).startswith("rules.toml: ")
    assert f"line {number}," in str(refused.value)


def test_a_missing_table_is_refused() -> None:
    text = shipped_rules_text().split("[priority]")[0]

    with pytest.raises(RulesError, match=r"priority: Field required"):
        parse_rules(text)


@pytest.mark.parametrize(
    ("written", "duration"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_a_number_and_a_unit(written: str, duration: timedelta) -> None:
    text, _ = replace_line(shipped_rules_text(), 'window = "3d"', f'window = "{written}"')

    assert parse_rules(text).confirmation.window == duration


@pytest.mark.parametrize(
    ("written", "complaint"),
    [
        ('"5 parsecs"', "not a duration like 90m, 4h, 3d or 2w"),
        ('"3"', "not a duration"),
        ('"h"', "not a duration"),
        ('"0m"', "should be greater than"),
    ],
    ids=["unknown-unit", "no-unit", "no-number", "zero"],
)
def test_a_wrong_duration_is_refused_naming_its_line(written: str, complaint: str) -> None:
    text, line = replace_line(
        shipped_rules_text(), 'resolution = "3d"', f"resolution = {written}", after="[sla.p2]"
    )

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    message = str(refused.value)
    assert f"rules.toml:{line}: sla.p2.resolution:" in message
    assert complaint in message
