"""Routing: each category goes to the team the support process names, at its priority."""

import pytest

from services.workflow.domain.routing import triage
from services.workflow.domain.rules import parse_rules
from shared.vocabulary import Category, Priority, Team
from tests.unit.examples import details, replace_line, shipped_rules, shipped_rules_text

# The support process: who investigates each kind of problem first, and how urgent it is.
ROUTES: dict[Category, tuple[Team, Priority]] = {
    Category.COMPLEX_TECHNICAL: (Team.TELECOM_ENGINEERING, Priority.P2),
    Category.NUMBER_ACTIVATION: (Team.NUMBERING, Priority.P3),
    Category.NUMBER_PORTING: (Team.NUMBERING, Priority.P3),
    Category.USER_PROVISIONING: (Team.PROVISIONING, Priority.P3),
    Category.CALL_QUALITY: (Team.LEVEL_2, Priority.P2),
    Category.SERVICE_OUTAGE: (Team.INCIDENT, Priority.P1),
    Category.OTHER: (Team.LEVEL_1, Priority.P4),
}


def test_the_routing_table_covers_every_category() -> None:
    assert set(ROUTES) == set(Category)


@pytest.mark.parametrize(("category", "route"), ROUTES.items(), ids=[c.value for c in ROUTES])
def test_a_single_user_problem_goes_to_the_team_of_its_category(
    category: Category, route: tuple[Team, Priority]
) -> None:
    routed = triage(details(category=category, affected_users=1), shipped_rules())

    assert (routed.team, routed.priority) == route
    assert category.value in routed.reason


def test_call_quality_ticket_goes_to_level_two() -> None:
    routed = triage(details(category=Category.CALL_QUALITY), shipped_rules())

    assert routed.team is Team.LEVEL_2


def test_an_outage_goes_to_the_incident_team_at_top_priority() -> None:
    routed = triage(details(category=Category.SERVICE_OUTAGE), shipped_rules())

    assert (routed.team, routed.priority) == (Team.INCIDENT, Priority.P1)


@pytest.mark.parametrize(
    ("users_below_threshold", "route"),
    [
        (1, (Team.LEVEL_1, Priority.P4)),
        (0, (Team.INCIDENT, Priority.P1)),
        (-1, (Team.INCIDENT, Priority.P1)),
    ],
    ids=["one-below-threshold", "at-threshold", "above-threshold"],
)
def test_a_problem_hitting_many_users_becomes_a_top_priority_incident(
    users_below_threshold: int, route: tuple[Team, Priority]
) -> None:
    rules = shipped_rules()
    users = rules.priority.many_users_threshold - users_below_threshold

    routed = triage(details(category=Category.OTHER, affected_users=users), rules)

    assert (routed.team, routed.priority) == route


def test_many_users_outranks_the_category_of_the_problem() -> None:
    rules = shipped_rules()
    users = rules.priority.many_users_threshold

    routed = triage(details(category=Category.NUMBER_PORTING, affected_users=users), rules)

    assert (routed.team, routed.priority) == (Team.INCIDENT, Priority.P1)
    assert f"{users} users affected" in routed.reason


def test_a_category_the_rules_do_not_name_takes_the_default_team_and_priority() -> None:
    text, _ = replace_line(
        shipped_rules_text(), 'number_porting = "numbering"', "", after="[routing.teams]"
    )
    text, _ = replace_line(text, 'number_porting = "p3"', "", after="[priority.by_category]")
    text, _ = replace_line(text, 'default = "p3"', 'default = "p4"', after="[priority]")
    rules = parse_rules(text)

    routed = triage(details(category=Category.NUMBER_PORTING), rules)

    assert (routed.team, routed.priority) == (Team.LEVEL_1, Priority.P4)
