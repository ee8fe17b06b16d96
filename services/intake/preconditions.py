"""What a ticket's or an incident's state allows, checked up front so a refusal is a 409 at once.

The workflow decides again when it applies the command (the status may have moved meanwhile);
checking here spares the caller a 202 for a command that can only be dead-lettered.
"""

from services.intake.incidents.documents import IncidentRecord
from services.intake.tickets.documents import TicketRecord
from shared.errors import DomainError
from shared.incidents import IncidentStatus
from shared.lifecycle import (
    DEVELOPMENT_STEPS,
    STEP_TO_REACH,
    TRANSITIONS,
    IllegalTransition,
    Step,
    allowed_steps,
)
from shared.vocabulary import DevelopmentStatus, TicketStatus


class NoSuchDevelopmentTicket(DomainError):
    """Progress reported for a development ticket this support ticket is not linked to."""


def statuses_an_agent_may_set(status: TicketStatus) -> list[TicketStatus]:
    return [
        target for target, step in STEP_TO_REACH.items() if TRANSITIONS[status].get(step) is target
    ]


def require_step(ticket: TicketRecord, step: Step) -> None:
    if step not in allowed_steps(ticket.status):
        raise IllegalTransition(ticket.status, step.value.replace("_", " "))


def require_status_reachable(ticket: TicketRecord, target: TicketStatus) -> None:
    if target not in statuses_an_agent_may_set(ticket.status):
        raise IllegalTransition(ticket.status, f"set the status to {target.value}")


def require_not_closed(ticket: TicketRecord, action: str) -> None:
    """A closed ticket stays closed: nothing but internal notes and call IDs reach it."""
    if ticket.status is TicketStatus.CLOSED:
        raise IllegalTransition(ticket.status, action)


def require_development_progress(
    ticket: TicketRecord, development_ticket_id: str, status: DevelopmentStatus
) -> None:
    """The ticket must be linked to that development ticket; a repeated report is let through."""
    development = ticket.development
    if development is None or development.development_ticket_id != development_ticket_id:
        raise NoSuchDevelopmentTicket(
            f"ticket {ticket.ticket_id} has no development ticket {development_ticket_id}"
        )
    if development.status is not status:  # the workflow ignores a repeat; so do we
        require_step(ticket, DEVELOPMENT_STEPS[status])


class IncidentAlreadyResolved(DomainError):
    """A resolved incident takes no more updates; an outage that is back is a new incident."""


def require_incident_open(incident: IncidentRecord, action: str) -> None:
    if incident.status is IncidentStatus.RESOLVED:
        raise IncidentAlreadyResolved(
            f"cannot {action}: incident {incident.incident_id} is already resolved"
        )
