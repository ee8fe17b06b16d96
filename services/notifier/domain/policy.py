"""Which ticket events a customer hears about, and what they are told."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.events import (
    AlternativeProposed,
    ConfirmationRequested,
    CustomerInputRequested,
    DevelopmentTicketOpened,
    Event,
    FixStarted,
    FixTestingStarted,
    InvestigationStarted,
    ProgressUpdateSent,
    PublicUpdatePosted,
    ResolutionConfirmed,
    TicketClosed,
    TicketEscalated,
    TicketOpened,
    TicketReopened,
)


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    subject: str
    body: str


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


# One subject and body per customer-visible event; internal steps have no entry.
MESSAGES: dict[type[Event], Callable[[Any], tuple[str, str]]] = {
    TicketOpened: lambda e: (
        f"We received your ticket {e.ticket_id}",
        f"Thank you for reporting \u201c{e.details.summary}\u201d. Ticket {e.ticket_id} is open "
        "and our team is looking into it. We will keep you informed at every step.",
    ),
    InvestigationStarted: lambda e: (
        f"Ticket {e.ticket_id}: investigation started",
        "An engineer is now investigating your problem.",
    ),
    CustomerInputRequested: lambda e: (
        f"Ticket {e.ticket_id}: we need information from you",
        f"To continue we need more information from you. {e.reason}".strip(),
    ),
    DevelopmentTicketOpened: lambda e: (
        f"Ticket {e.ticket_id}: a software fix is being prepared",
        "Solving your problem needs a change to our software; our development team has "
        f"started on it ({e.development_ticket_id}).",
    ),
    FixStarted: lambda e: (
        f"Ticket {e.ticket_id}: fix in progress",
        "Work on the fix for your problem is in progress.",
    ),
    FixTestingStarted: lambda e: (
        f"Ticket {e.ticket_id}: fix being tested",
        "The fix for your problem is being tested before it is deployed.",
    ),
    ConfirmationRequested: lambda e: (
        f"Ticket {e.ticket_id}: please confirm the problem is solved",
        "We believe your problem is solved. Please confirm, or tell us it is not fixed, "
        f"by {_when(e.confirm_by)}; without an answer the ticket will close then.",
    ),
    ResolutionConfirmed: lambda e: (
        f"Ticket {e.ticket_id} resolved",
        "Thank you for confirming that the problem is solved.",
    ),
    TicketReopened: lambda e: (
        f"Ticket {e.ticket_id} reopened",
        "We are sorry the problem is not solved. Your ticket is reopened and escalated.",
    ),
    TicketClosed: lambda e: (
        f"Ticket {e.ticket_id} closed",
        f"Your ticket is closed ({e.reason}). If the problem comes back, report it and we "
        "will open a follow-up ticket.",
    ),
    PublicUpdatePosted: lambda e: (f"Update on ticket {e.ticket_id}", e.message),
    ProgressUpdateSent: lambda e: (
        f"Ticket {e.ticket_id}: still working on it",
        "We are still working on your problem. You will hear from us again by "
        f"{_when(e.next_update_by)} at the latest.",
    ),
    TicketEscalated: lambda e: (
        f"Ticket {e.ticket_id} escalated",
        "Your ticket has been escalated to a more senior support tier.",
    ),
    AlternativeProposed: lambda e: (
        f"Ticket {e.ticket_id}: an alternative solution",
        f"As the problem persists, we propose an alternative: {e.alternative}. "
        "Reply to this ticket to go ahead.",
    ),
}


def message_for(event: Event) -> CustomerMessage | None:
    """The customer-facing message for an event, or None for internal steps (triage, notes)."""
    compose = MESSAGES.get(type(event))
    if compose is None or not event.customer_visible:
        return None
    subject, body = compose(event)
    return CustomerMessage(subject=subject, body=body)
