"""Which tickets an outage takes in: the ticket's category, then its service or its customer's."""

from collections.abc import Iterable

from services.workflow.domain.incidents import Incident
from services.workflow.domain.rules import IncidentRules
from shared.customers import Services
from shared.events import TicketDetails
from shared.incidents import IncidentScope, Severity

SEVERITY_ORDER = list(Severity)  # the most severe first


def ticket_in_scope(
    details: TicketDetails,
    customer_services: Services | None,
    scope: IncidentScope,
    rules: IncidentRules,
) -> bool:
    """A ticket of a linkable category whose customer the scope names, or whose affected
    service it covers; a ticket that names no service is judged by its customer's services."""
    if details.category not in rules.linkable_categories:
        return False
    if details.customer_id in scope.customer_ids:
        return True
    if details.affected is not None:
        return scope.covers(details.affected)
    return customer_services is not None and scope.matches(details.customer_id, customer_services)


def incident_for_ticket(
    details: TicketDetails,
    customer_services: Services | None,
    open_incidents: Iterable[Incident],
    rules: IncidentRules,
) -> Incident | None:
    """The open incident a new ticket belongs to: the most severe, then the oldest, in scope."""
    candidates = [
        incident
        for incident in open_incidents
        if ticket_in_scope(details, customer_services, incident.scope, rules)
    ]
    return min(
        candidates,
        key=lambda incident: (SEVERITY_ORDER.index(incident.severity), incident.declared_at),
        default=None,
    )
