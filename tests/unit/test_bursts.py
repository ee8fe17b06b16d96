"""Burst detection: enough similar tickets on one service within the rule's while declare one
outage, under an id every ticket of the burst agrees on."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.workflow.domain.bursts import (
    Watch,
    burst_declaration,
    watches_for,
    window_start,
    written,
)
from services.workflow.domain.rules import DetectionRule
from shared.events import WORKFLOW, AffectedService, TicketDetails
from shared.incidents import IncidentScope, Severity
from shared.vocabulary import Category, incident_id_for_burst
from tests.unit.examples import shipped_rules

RULES = shipped_rules().incidents
REGIONAL = next(rule for rule in RULES.detection if rule.name == "regional-outage")
ROUTES = next(rule for rule in RULES.detection if rule.attribute == "carrier_route")
AT = datetime(2026, 11, 25, 9, 37, 12, tzinfo=UTC)


def report(category: Category, affected: AffectedService | None) -> TicketDetails:
    return TicketDetails(
        customer_id="acme-telecom",
        category=category,
        summary="No calls go through",
        reporting_system="crm",
        affected=affected,
    )


@pytest.mark.parametrize(
    ("details", "watches"),
    [
        (
            report(Category.SERVICE_OUTAGE, AffectedService(region="eu-west")),
            [Watch(REGIONAL, "eu-west")],
        ),
        (
            report(Category.CALL_QUALITY, AffectedService(region="eu-west", carrier_route="b")),
            [Watch(ROUTES, "b")],
        ),
        (report(Category.SERVICE_OUTAGE, AffectedService(product="sip-trunk")), []),
        (report(Category.SERVICE_OUTAGE, None), []),
        (report(Category.NUMBER_PORTING, AffectedService(region="eu-west")), []),
    ],
    ids=[
        "outage-in-a-region",
        "call-quality-on-a-route",
        "attribute-no-rule-watches",
        "no-service-named",
        "category-no-rule-watches",
    ],
)
def test_a_ticket_is_watched_by_the_rules_of_its_category_on_the_service_it_names(
    details: TicketDetails, watches: list[Watch]
) -> None:
    assert watches_for(details, RULES) == watches


def test_fewer_tickets_than_the_rule_asks_for_are_no_outage() -> None:
    assert burst_declaration(Watch(REGIONAL, "eu-west"), REGIONAL.tickets - 1, AT) is None


@pytest.mark.parametrize("similar", [REGIONAL.tickets, REGIONAL.tickets + 3])
def test_enough_similar_tickets_declare_a_detected_outage_of_their_service(similar: int) -> None:
    declaration = burst_declaration(Watch(REGIONAL, "eu-west"), similar, AT)

    assert declaration is not None
    start = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    expected_id = incident_id_for_burst("regional-outage", "eu-west", start.isoformat())
    assert declaration.incident_id == expected_id
    assert declaration.command_id == f"detect:{expected_id}"
    assert declaration.request_hash == hashlib.sha256(expected_id.encode()).hexdigest()
    assert (declaration.detected, declaration.issued_by) == (True, WORKFLOW)
    assert declaration.scope == IncidentScope(regions=("eu-west",))
    assert declaration.severity is Severity.MAJOR
    assert declaration.title == (
        f"Outage suspected: {similar} service_outage tickets in region eu-west within 10m"
    )


def declared_id(value: str, at: datetime) -> str:
    declaration = burst_declaration(Watch(REGIONAL, value), REGIONAL.tickets, at)
    assert declaration is not None
    return declaration.incident_id


def test_every_ticket_of_one_window_names_the_same_outage() -> None:
    early = declared_id("eu-west", datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    late = declared_id("eu-west", datetime(2026, 11, 25, 9, 39, 59, tzinfo=UTC))
    next_window = declared_id("eu-west", datetime(2026, 11, 25, 9, 40, tzinfo=UTC))

    assert early == late
    assert next_window != early


def test_another_value_is_another_outage() -> None:
    assert declared_id("eu-west", AT) != declared_id("us-east", AT)


@pytest.mark.parametrize(
    ("within", "start"),
    [
        (timedelta(minutes=10), datetime(2026, 11, 25, 9, 30, tzinfo=UTC)),
        (timedelta(minutes=15), datetime(2026, 11, 25, 9, 30, tzinfo=UTC)),
        (timedelta(hours=1), datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        (timedelta(seconds=45), datetime(2026, 11, 25, 9, 36, 45, tzinfo=UTC)),
    ],
)
def test_a_window_starts_at_a_whole_multiple_of_its_length(
    within: timedelta, start: datetime
) -> None:
    assert window_start(within, AT) == start


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=4), "4h"),
        (timedelta(weeks=2), "2w"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=1.5), "1.5s"),
    ],
)
def test_a_duration_is_written_as_the_rules_file_writes_it(duration: timedelta, text: str) -> None:
    assert written(duration) == text


def test_a_rule_on_a_product_scopes_the_outage_to_that_product() -> None:
    rule = DetectionRule.model_validate(
        {
            "name": "product-outage",
            "category": "service_outage",
            "attribute": "product",
            "tickets": 2,
            "within": "5m",
            "severity": "minor",
        }
    )

    declaration = burst_declaration(Watch(rule, "sip-trunk"), 2, AT)

    assert declaration is not None
    assert declaration.scope == IncidentScope(products=("sip-trunk",))
    assert "in product sip-trunk within 5m" in declaration.title
