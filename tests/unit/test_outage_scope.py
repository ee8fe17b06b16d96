"""Which tickets an outage takes in: a linkable category, then the customer named, the ticket's
affected service covered, or (naming no service) the customer's services matched."""

from datetime import timedelta

import pytest

from services.workflow.domain.affected import incident_for_ticket, ticket_in_scope
from services.workflow.domain.incidents import Incident
from shared.customers import Services
from shared.events import AffectedService, TicketDetails
from shared.incidents import IncidentScope, IncidentStatus, Severity
from shared.vocabulary import Category
from tests.unit.examples import NOW, shipped_rules

RULES = shipped_rules().incidents
EU_WEST = IncidentScope(regions=("eu-west",))
IN_EU_WEST = Services(regions=("eu-west",))
IN_US_EAST = Services(regions=("us-east",))


def report(
    category: Category = Category.SERVICE_OUTAGE,
    affected: AffectedService | None = None,
    customer_id: str = "acme-telecom",
) -> TicketDetails:
    return TicketDetails(
        customer_id=customer_id,
        category=category,
        summary="No calls go through",
        reporting_system="crm",
        affected=affected,
    )


@pytest.mark.parametrize(
    ("details", "services", "scope", "in_scope"),
    [
        (report(), IN_EU_WEST, EU_WEST, True),
        (report(), IN_US_EAST, EU_WEST, False),
        (report(), None, EU_WEST, False),  # not in the directory, names no service
        (report(Category.NUMBER_PORTING), IN_EU_WEST, EU_WEST, False),
        (report(Category.CALL_QUALITY), IN_EU_WEST, EU_WEST, True),
        (report(affected=AffectedService(region="eu-west")), IN_US_EAST, EU_WEST, True),
        (report(affected=AffectedService(region="us-east")), IN_EU_WEST, EU_WEST, False),
        (report(affected=AffectedService(product="sip-trunk")), IN_EU_WEST, EU_WEST, False),
        (
            report(affected=AffectedService(number_range="+3491")),
            None,
            IncidentScope(number_ranges=("+34",)),
            True,
        ),
        (report(), None, IncidentScope(customer_ids=("acme-telecom",)), True),
        (
            report(affected=AffectedService(region="us-east")),
            None,
            IncidentScope(customer_ids=("acme-telecom",)),
            True,
        ),
        (
            report(Category.USER_PROVISIONING),
            None,
            IncidentScope(customer_ids=("acme-telecom",)),
            False,
        ),
    ],
    ids=[
        "customer-uses-the-region",
        "customer-uses-another-region",
        "customer-unknown",
        "category-not-linkable",
        "another-linkable-category",
        "affected-service-in-scope",
        "affected-service-elsewhere-though-customer-in-region",
        "affected-service-the-scope-does-not-speak-of",
        "number-range-inside-the-outage",
        "customer-named",
        "customer-named-whatever-the-service",
        "customer-named-but-category-not-linkable",
    ],
)
def test_a_ticket_is_in_an_outage_scope(
    details: TicketDetails, services: Services | None, scope: IncidentScope, in_scope: bool
) -> None:
    assert ticket_in_scope(details, services, scope, RULES) is in_scope


def incident(number: int, severity: Severity, scope: IncidentScope, minutes: int) -> Incident:
    at = NOW + timedelta(minutes=minutes)
    return Incident(
        incident_id=f"INC-{number:016d}",
        version=1,
        status=IncidentStatus.OPEN,
        title=f"Outage {number}",
        severity=severity,
        scope=scope,
        message="We are on it.",
        detected=False,
        declared_at=at,
        updated_at=at,
        request_hash="b" * 64,
    )


def test_a_new_ticket_joins_the_most_severe_then_oldest_outage_in_its_scope() -> None:
    elsewhere = incident(1, Severity.CRITICAL, IncidentScope(regions=("us-east",)), 0)
    minor = incident(2, Severity.MINOR, EU_WEST, 0)
    major_later = incident(3, Severity.MAJOR, EU_WEST, 10)
    major_first = incident(4, Severity.MAJOR, EU_WEST, 5)
    open_incidents = [elsewhere, minor, major_later, major_first]

    chosen = incident_for_ticket(report(), IN_EU_WEST, open_incidents, RULES)

    assert chosen == major_first


def test_a_new_ticket_outside_every_outage_joins_none() -> None:
    open_incidents = [incident(1, Severity.CRITICAL, IncidentScope(regions=("us-east",)), 0)]

    assert incident_for_ticket(report(), IN_EU_WEST, open_incidents, RULES) is None
