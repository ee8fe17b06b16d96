"""Escalation: the tier a ticket starts at, the tier above it, and a rules file naming a tier
that does not exist."""

import pytest

from services.workflow.domain.rules import RulesError, parse_rules
from services.workflow.domain.tickets import open_ticket
from shared.events import TicketTriaged
from shared.vocabulary import Category
from tests.unit.examples import (
    NOW,
    details,
    open_ticket_command,
    replace_line,
    shipped_rules,
    shipped_rules_text,
)

# Call quality goes to level-2 support; an outage straight to the engineering lead.
FIRST_TIERS: dict[Category, str] = {
    Category.CALL_QUALITY: "level_2",
    Category.COMPLEX_TECHNICAL: "level_2",
    Category.SERVICE_OUTAGE: "engineering_lead",
    Category.NUMBER_ACTIVATION: "level_1",
    Category.NUMBER_PORTING: "level_1",
    Category.USER_PROVISIONING: "level_1",
    Category.OTHER: "level_1",
}
NEXT_TIERS: dict[str, str | None] = {
    "level_1": "level_2",
    "level_2": "engineering_lead",
    "engineering_lead": None,
}


def test_the_tables_cover_every_category_and_tier() -> None:
    assert set(FIRST_TIERS) == set(Category)
    assert list(NEXT_TIERS) == shipped_rules().escalation.tiers


@pytest.mark.parametrize(("category", "tier"), FIRST_TIERS.items(), ids=str)
def test_a_ticket_starts_at_the_tier_of_its_category(category: Category, tier: str) -> None:
    assert shipped_rules().escalation.first_tier(category) == tier


@pytest.mark.parametrize(("category", "tier"), FIRST_TIERS.items(), ids=str)
def test_a_new_ticket_is_triaged_at_that_tier(category: Category, tier: str) -> None:
    command = open_ticket_command(ticket_details=details(category=category))

    decision = open_ticket(command, NOW, shipped_rules())

    triaged = decision.events[1]
    assert isinstance(triaged, TicketTriaged)
    assert triaged.tier == decision.ticket.tier == tier


@pytest.mark.parametrize(("tier", "above"), NEXT_TIERS.items(), ids=str)
def test_each_tier_escalates_to_the_one_above_until_the_top(tier: str, above: str | None) -> None:
    assert shipped_rules().escalation.next_tier(tier) == above


@pytest.mark.parametrize(
    ("after", "old", "new", "path"),
    [
        ("[escalation]", 'default_tier = "level_1"', 'default_tier = "level_0"', "default_tier"),
        (
            "[escalation.starting_tier]",
            'service_outage = "engineering_lead"',
            'service_outage = "ceo"',
            "starting_tier.service_outage",
        ),
    ],
    ids=["default-tier", "starting-tier"],
)
def test_a_rules_file_with_an_unknown_tier_is_refused_naming_the_line(
    after: str, old: str, new: str, path: str
) -> None:
    text, wrong_line = replace_line(shipped_rules_text(), old, new, after=after)

    with pytest.raises(RulesError) as refused:
        parse_rules(text, source="rules.toml")

    message = str(refused.value)
    assert f"rules.toml:{wrong_line}: escalation.{path}:" in message
    assert "unknown tier" in message
    assert "level_1, level_2, engineering_lead" in message


def test_tiers_named_twice_are_refused() -> None:
    text, line = replace_line(
        shipped_rules_text(),
        'tiers = ["level_1", "level_2", "engineering_lead"]',
        'tiers = ["level_1", "level_2", "level_1"]',
    )

    with pytest.raises(RulesError, match=rf"rules.toml:{line}: escalation.tiers:.*distinct"):
        parse_rules(text, source="rules.toml")
