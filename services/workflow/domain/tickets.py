"""The ticket aggregate: its state, and how a new one is opened."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.workflow.domain.routing import triage
from services.workflow.domain.rules import Rules
from services.workflow.domain.sla import Clocks, start_clocks
from shared.events import (
    WORKFLOW,
    Event,
    OpenTicket,
    TicketDetails,
    TicketOpened,
    TicketTriaged,
    ValueObject,
)
from shared.vocabulary import (
    DevelopmentStatus,
    IncidentId,
    Priority,
    Team,
    TicketId,
    TicketStatus,
)


class DevelopmentTicket(ValueObject):
    development_ticket_id: str
    summary: str
    status: DevelopmentStatus
    opened_at: AwareDatetime


class Ticket(BaseModel):
    """A ticket's current state; the document the workflow stores is this plus its events."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: TicketId
    version: int
    status: TicketStatus
    details: TicketDetails
    team: Team
    teams: list[Team]
    priority: Priority
    tier: str
    reopen_count: int = 0
    development: DevelopmentTicket | None = None
    follow_up_of: TicketId | None = None
    alternative_proposed: bool = False
    incident_id: IncidentId | None = None  # the outage the ticket is part of, if any
    first_responded_at: AwareDatetime | None = None
    clocks: Clocks = Clocks()
    request_hash: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


@dataclass(frozen=True, slots=True)
class Decision:
    ticket: Ticket
    events: tuple[Event, ...]


def event_id_for(command_id: str, index: int) -> str:
    """Derived from the command, so a redelivered command yields the very same events."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{command_id}:{index}"))


def open_ticket(command: OpenTicket, now: datetime, rules: Rules) -> Decision:
    """A new ticket is opened, triaged to a team and its clocks started, in one step."""
    routed = triage(command.details, rules)
    tier = rules.escalation.first_tier(command.details.category)
    customer_id = command.details.customer_id
    opened = TicketOpened(
        event_id=event_id_for(command.command_id, 0),
        occurred_at=now,
        ticket_id=command.ticket_id,
        customer_id=customer_id,
        actor=command.issued_by,
        reason=command.reason,
        details=command.details,
        follow_up_of=command.follow_up_of,
    )
    triaged = TicketTriaged(
        event_id=event_id_for(command.command_id, 1),
        occurred_at=now,
        ticket_id=command.ticket_id,
        customer_id=customer_id,
        actor=WORKFLOW,
        team=routed.team,
        priority=routed.priority,
        tier=tier,
        reason=routed.reason,
    )
    ticket = Ticket(
        ticket_id=command.ticket_id,
        version=1,
        status=TicketStatus.TRIAGED,
        details=command.details,
        team=routed.team,
        teams=[routed.team],
        priority=routed.priority,
        tier=tier,
        follow_up_of=command.follow_up_of,
        clocks=start_clocks(routed.priority, command.details.category, now, rules),
        request_hash=command.request_hash,
        created_at=now,
        updated_at=now,
    )
    return Decision(ticket=ticket, events=(opened, triaged))
