"""Notification policy: which ticket events the customer hears about, and what they read."""

from typing import Any

import pytest

from services.notifier.domain.audience import recipients
from services.notifier.domain.policy import kind_of, message_for
from services.notifier.domain.templates import CustomerNews
from shared.customers import Contact, Customer, Language, MessageKind
from shared.events import (
    WORKFLOW,
    AlternativeProposed,
    Event,
    ProgressUpdateSent,
    ResolvedWithIncident,
    TicketClosed,
    TicketLinkedToIncident,
    TicketOpened,
    TicketTriaged,
)
from shared.incidents import (
    IncidentDeclared,
    IncidentEvent,
    IncidentResolved,
    IncidentScope,
    IncidentUpdated,
    Severity,
)
from shared.vocabulary import Channel, Priority, Team, TicketStatus
from tests.unit.examples import CRM, NOW, details

TICKET_ID = "TCK-0123456789ABCDEF"


def opened() -> TicketOpened:
    return TicketOpened(
        event_id="e-1",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=CRM,
        details=details(summary="No dial tone on the Madrid trunk"),
    )


def test_an_opened_ticket_tells_the_customer_its_id_and_what_they_reported() -> None:
    message = message_for(opened())

    assert message is not None
    assert TICKET_ID in message.subject
    assert TICKET_ID in message.body
    assert "No dial tone on the Madrid trunk" in message.body


def test_without_a_language_the_customer_is_told_in_english() -> None:
    message = message_for(opened())

    assert message is not None
    assert message.subject == f"We received your ticket {TICKET_ID}"


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        (Language.EN, f"We received your ticket {TICKET_ID}"),
        (Language.ES, f"Hemos recibido su ticket {TICKET_ID}"),
        (Language.FR, f"Nous avons bien reçu votre ticket {TICKET_ID}"),
    ],
)
def test_a_contact_is_told_in_their_language(language: Language, subject: str) -> None:
    message = message_for(opened(), language)

    assert message is not None
    assert message.subject == subject


def test_triage_is_internal_and_tells_the_customer_nothing() -> None:
    event = TicketTriaged(
        event_id="e-2",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=WORKFLOW,
        team=Team.LEVEL_2,
        priority=Priority.P2,
        tier="level_2",
    )

    assert message_for(event) is None


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (opened(), MessageKind.ACKNOWLEDGEMENT),
        (
            AlternativeProposed(
                event_id="e-3",
                occurred_at=NOW,
                ticket_id=TICKET_ID,
                customer_id="acme-telecom",
                actor=WORKFLOW,
                alternative="port the number to an alternative carrier route",
            ),
            MessageKind.UPDATE,
        ),
        (
            ProgressUpdateSent(
                event_id="e-4",
                occurred_at=NOW,
                ticket_id=TICKET_ID,
                customer_id="acme-telecom",
                actor=WORKFLOW,
                next_update_by=NOW,
            ),
            MessageKind.PROGRESS,
        ),
        (
            TicketClosed(
                event_id="e-5",
                occurred_at=NOW,
                ticket_id=TICKET_ID,
                customer_id="acme-telecom",
                actor=WORKFLOW,
                from_status=TicketStatus.RESOLVED,
                to_status=TicketStatus.CLOSED,
            ),
            MessageKind.CONFIRMATION,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Event) else str(value),
)
def test_each_message_is_of_the_kind_contacts_opt_out_of(event: Event, kind: MessageKind) -> None:
    assert kind_of(event) is kind


def outage(event_type: type[IncidentEvent]) -> IncidentEvent:
    extra: dict[str, Any] = (
        {"update_number": 1} if "update_number" in event_type.model_fields else {}
    )
    return event_type(
        event_id=f"e-{event_type.__name__}",
        occurred_at=NOW,
        incident_id="INC-0123456789ABCDEF",
        actor=WORKFLOW,
        title="Calls to Madrid fail",
        severity=Severity.MAJOR,
        scope=IncidentScope(regions=("eu-south",)),
        message="We are moving calls to another carrier route.",
        **extra,
    )


# Everything a contact may opt out of; outages are not among it.
OPTED_OUT_OF_ALL_IT_CAN = Contact(
    contact_id="cfo",
    name="CFO",
    email="cfo@acme.example",
    phone="+34911234567",
    opt_out=tuple(
        kind
        for kind in MessageKind
        if kind not in {MessageKind.OUTAGE, MessageKind.OUTAGE_RESOLVED}
    ),
)


def told(event: CustomerNews) -> set[Channel]:
    customer = Customer(customer_id="acme-telecom", name="ACME", contacts=[OPTED_OUT_OF_ALL_IT_CAN])
    return {r.channel for r in recipients(customer, kind_of(event)) if r.contact_id == "cfo"}


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        (IncidentDeclared, MessageKind.OUTAGE),
        (IncidentUpdated, MessageKind.OUTAGE),
        (IncidentResolved, MessageKind.OUTAGE_RESOLVED),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_incident_events_are_outage_messages(
    event_type: type[IncidentEvent], kind: MessageKind
) -> None:
    assert kind_of(outage(event_type)) is kind


@pytest.mark.parametrize("event_type", [IncidentDeclared, IncidentResolved], ids=str)
def test_the_start_and_end_of_an_outage_go_out_by_sms_too(
    event_type: type[IncidentEvent],
) -> None:
    assert told(outage(event_type)) == {Channel.EMAIL, Channel.SMS}


def test_opting_out_of_everything_else_does_not_stop_outage_messages() -> None:
    assert told(outage(IncidentUpdated)) == {Channel.EMAIL, Channel.SMS}
    assert told(opened()) == set()


def test_a_ticket_linked_to_an_outage_is_an_update_and_its_resolution_a_confirmation() -> None:
    common: dict[str, Any] = {
        "occurred_at": NOW,
        "ticket_id": TICKET_ID,
        "customer_id": "acme-telecom",
        "actor": WORKFLOW,
        "incident_id": "INC-0123456789ABCDEF",
        "message": "Part of the Madrid outage.",
    }
    linked = TicketLinkedToIncident(
        event_id="e-linked",
        title="Calls to Madrid fail",
        from_priority=Priority.P3,
        priority=Priority.P1,
        **common,
    )
    resolved = ResolvedWithIncident(
        event_id="e-resolved",
        from_status=TicketStatus.INVESTIGATING,
        to_status=TicketStatus.AWAITING_CONFIRMATION,
        confirm_by=NOW,
        **common,
    )

    assert (kind_of(linked), kind_of(resolved)) == (MessageKind.UPDATE, MessageKind.CONFIRMATION)
