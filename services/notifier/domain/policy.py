"""Which events a customer hears about, what kind of message each is, and what it says."""

from functools import cache

from services.notifier.domain.templates import CustomerMessage, CustomerNews, MessageTemplates
from shared.customers import FALLBACK_LANGUAGE, Language, MessageKind
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
    ResolvedWithIncident,
    TicketClosed,
    TicketEscalated,
    TicketLinkedToIncident,
    TicketOpened,
    TicketReopened,
)
from shared.incidents import IncidentDeclared, IncidentResolved, IncidentUpdated

__all__ = ["KIND_OF", "CustomerMessage", "kind_of", "message_for", "shipped_templates"]


@cache
def shipped_templates() -> MessageTemplates:
    """Loaded once, when the notifier starts: a missing or broken template stops it there."""
    return MessageTemplates()


# What each customer-visible event's message is about; contacts opt out by kind.
KIND_OF: dict[type[CustomerNews], MessageKind] = {
    TicketOpened: MessageKind.ACKNOWLEDGEMENT,
    InvestigationStarted: MessageKind.LIFECYCLE,
    CustomerInputRequested: MessageKind.LIFECYCLE,
    DevelopmentTicketOpened: MessageKind.LIFECYCLE,
    FixStarted: MessageKind.LIFECYCLE,
    FixTestingStarted: MessageKind.LIFECYCLE,
    TicketReopened: MessageKind.LIFECYCLE,
    TicketEscalated: MessageKind.LIFECYCLE,
    PublicUpdatePosted: MessageKind.UPDATE,
    AlternativeProposed: MessageKind.UPDATE,
    TicketLinkedToIncident: MessageKind.UPDATE,
    ProgressUpdateSent: MessageKind.PROGRESS,
    ConfirmationRequested: MessageKind.CONFIRMATION,
    ResolutionConfirmed: MessageKind.CONFIRMATION,
    TicketClosed: MessageKind.CONFIRMATION,
    ResolvedWithIncident: MessageKind.CONFIRMATION,
    # Outages go to every affected customer, on SMS too, whatever a contact opted out of.
    IncidentDeclared: MessageKind.OUTAGE,
    IncidentUpdated: MessageKind.OUTAGE,
    IncidentResolved: MessageKind.OUTAGE_RESOLVED,
}


def kind_of(event: CustomerNews) -> MessageKind:
    """What a customer-visible event's message is about; KeyError for an internal step."""
    return KIND_OF[type(event)]


def message_for(
    event: CustomerNews, language: Language = FALLBACK_LANGUAGE
) -> CustomerMessage | None:
    """The customer-facing message for an event, or None for internal steps (triage, notes)."""
    if isinstance(event, Event) and not event.customer_visible:
        return None
    return shipped_templates().render(event, language)
