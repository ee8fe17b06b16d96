"""The ticket aggregate: its state and the pure decisions that produce its events."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.workflow.domain.routing import triage
from services.workflow.domain.rules import Rules
from shared.events import WORKFLOW, Event, OpenTicket, TicketDetails, TicketOpened, TicketTriaged
from shared.vocabulary import Priority, Team, TicketId, TicketStatus


class Ticket(BaseModel):
    """A ticket's current state; the document the workflow stores is this plus its outbox."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: TicketId
    version: int
    status: TicketStatus
    details: TicketDetails
    team: Team | None = None
    priority: Priority | None = None
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
    """A new ticket is opened and triaged to a team in one step."""
    routed = triage(command.details, rules)
    customer_id = command.details.customer_id
    opened = TicketOpened(
        event_id=event_id_for(command.command_id, 0),
        occurred_at=now,
        ticket_id=command.ticket_id,
        customer_id=customer_id,
        actor=command.issued_by,
        details=command.details,
    )
    triaged = TicketTriaged(
        event_id=event_id_for(command.command_id, 1),
        occurred_at=now,
        ticket_id=command.ticket_id,
        customer_id=customer_id,
        actor=WORKFLOW,
        team=routed.team,
        priority=routed.priority,
        reason=routed.reason,
    )
    ticket = Ticket(
        ticket_id=command.ticket_id,
        version=1,
        status=TicketStatus.TRIAGED,
        details=command.details,
        team=routed.team,
        priority=routed.priority,
        request_hash=command.request_hash,
        created_at=now,
        updated_at=now,
    )
    return Decision(ticket=ticket, events=(opened, triaged))
