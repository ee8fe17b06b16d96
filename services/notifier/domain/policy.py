"""Which ticket events a customer hears about, and what they are told."""

from dataclasses import dataclass

from shared.events import Event, TicketOpened


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    subject: str
    body: str


def message_for(event: Event) -> CustomerMessage | None:
    """The customer-facing message for an event, or None for internal steps (triage, notes)."""
    match event:
        case TicketOpened(details=details):
            return CustomerMessage(
                subject=f"We received your ticket {event.ticket_id}",
                body=(
                    f"Thank you for reporting \u201c{details.summary}\u201d. Ticket "
                    f"{event.ticket_id} is open and our team is looking into it. "
                    "We will keep you informed at every step."
                ),
            )
        case _:
            return None
