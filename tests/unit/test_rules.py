"""The rules file: the shipped one parses; a wrong one is refused, naming the line."""

from datetime import timedelta
from pathlib import Path

import pytest

from services.workflow.domain.rules import RulesError, parse_rules
from shared.incidents import Severity
from shared.vocabulary import Category, Priority, Team
from tests.unit.examples import replace_line, shipped_rules, shipped_rules_text

LINKABLE = 'linkable_categories = ["service_outage", "call_quality", "complex_technical", "other"]'
E2E_RULES = Path(__file__).parents[1] / "e2e" / "fast_sla_rules.toml"


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


def test_the_shipped_rules_say_how_outages_take_tickets_in_and_are_detected() -> None:
    incidents = shipped_rules().incidents

    assert incidents.priority is Priority.P1
    assert Category.SERVICE_OUTAGE in incidents.linkable_categories
    assert Category.NUMBER_PORTING not in incidents.linkable_categories
    regional = incidents.detection[0]
    assert (regional.name, regional.category, regional.attribute) == (
        "regional-outage",
        Category.SERVICE_OUTAGE,
        "region",
    )
    assert (regional.tickets, regional.within, regional.severity) == (
        5,
        timedelta(minutes=10),
        Severity.MAJOR,
    )


def test_the_end_to_end_rules_detect_a_small_regional_burst() -> None:
    rules = parse_rules(E2E_RULES.read_text(), source=str(E2E_RULES))

    regional = next(rule for rule in rules.incidents.detection if rule.name == "regional-outage")
    assert (regional.category, regional.attribute) == (Category.SERVICE_OUTAGE, "region")
    assert (regional.tickets, regional.within) == (3, timedelta(minutes=5))


@pytest.mark.parametrize(
    ("after", "old", "new", "path", "complaint"),
    [
        (
            'name = "regional-outage"',
            'attribute = "region"',
            'attribute = "country"',
            "incidents.detection.0.attribute",
            "Input should be 'region', 'carrier_route', 'number_range' or 'product'",
        ),
        (
            'name = "regional-outage"',
            "tickets = 5",
            "tickets = 1",
            "incidents.detection.0.tickets",
            "greater than or equal to 2",
        ),
        (
            'name = "carrier-route-quality"',
            'within = "15m"',
            'within = "soon"',
            "incidents.detection.1.within",
            "not a duration",
        ),
        (
            'name = "carrier-route-quality"',
            'category = "call_quality"',
            'category = "number_porting"',
            "incidents.detection.1.category",
            "number_porting is not among incidents.linkable_categories",
        ),
        (
            "[[incidents.detection]]",
            'name = "carrier-route-quality"',
            'name = "regional-outage"',
            "incidents.detection.1.name",
            "detection rule regional-outage is named twice",
        ),
        (
            "[incidents]",
            'priority = "p1"',
            'priority = "top"',
            "incidents.priority",
            "Input should be 'p1', 'p2', 'p3' or 'p4'",
        ),
        (
            "[incidents]",
            LINKABLE,
            'linkable_categories = ["service_outage", "fax"]',
            "incidents.linkable_categories.1",
            "Input should be",
        ),
    ],
    ids=[
        "unknown-attribute",
        "a-burst-of-one",
        "unknown-duration",
        "category-outages-cannot-link",
        "name-used-twice",
        "unknown-priority",
        "unknown-linkable-category",
    ],
)
def test_a_wrong_incident_rule_is_refused_naming_its_line(
    after: str, old: str, new: str, path: str, complaint: str
) -> None:
    text, wrong_line = replace_line(shipped_rules_text(), old, new, after=after)

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    assert f"rules.toml:{wrong_line}: {path}: " in str(refused.value)
    assert complaint in str(refused.value)


def test_a_detection_rule_missing_a_key_names_its_table() -> None:
    text, _ = replace_line(
        shipped_rules_text(), 'severity = "minor"', "", after='name = "carrier-route-quality"'
    )
    header = [n for n, line in enumerate(text.splitlines(), 1) if line == "[[incidents.detection]]"]

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    assert f"rules.toml:{header[1]}: incidents.detection.1.severity: Field required" in str(
        refused.value
    )
