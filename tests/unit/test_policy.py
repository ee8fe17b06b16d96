"""Notification policy: which ticket events the customer hears about, and what they read."""

import pytest

from services.notifier.domain.policy import kind_of, message_for
from shared.customers import Language, MessageKind
from shared.events import (
    WORKFLOW,
    AlternativeProposed,
    Event,
    ProgressUpdateSent,
    TicketClosed,
    TicketOpened,
    TicketTriaged,
)
from shared.vocabulary import Priority, Team, TicketStatus
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
