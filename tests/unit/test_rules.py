"""The rules file: the shipped one parses; a wrong one is refused, naming the line."""

import pytest

from services.workflow.domain.rules import RulesError, parse_rules
from shared.vocabulary import Category, Priority, Team
from tests.unit.examples import shipped_rules, shipped_rules_text


def replace_line(text: str, old: str, new: str, after: str = "") -> tuple[str, int]:
    """The text with the first line `old` after the line `after` replaced by `new`,
    and the number of the last line of `new` in the result."""
    lines = text.splitlines()
    start = lines.index(after) if after else 0
    index = lines.index(old, start)
    added = new.splitlines()
    lines[index : index + 1] = added
    return "\n".join(lines) + "\n", index + len(added)


def test_the_shipped_rules_file_parses() -> None:
    rules = shipped_rules()

    assert rules.routing.default_team is Team.LEVEL_1
    assert rules.routing.teams[Category.SERVICE_OUTAGE] is Team.INCIDENT
    assert rules.priority.many_users_threshold == 50
    assert rules.priority.by_category[Category.SERVICE_OUTAGE] is Priority.P1


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
