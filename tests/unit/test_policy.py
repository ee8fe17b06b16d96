"""Notification policy: which ticket events the customer hears about, and what they read."""

from services.notifier.domain.policy import message_for
from shared.events import WORKFLOW, TicketOpened, TicketTriaged
from shared.vocabulary import Priority, Team
from tests.unit.examples import CRM, NOW, details

TICKET_ID = "TCK-0123456789ABCDEF"


def test_an_opened_ticket_tells_the_customer_its_id_and_what_they_reported() -> None:
    event = TicketOpened(
        event_id="e-1",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=CRM,
        details=details(summary="No dial tone on the Madrid trunk"),
    )

    message = message_for(event)

    assert message is not None
    assert TICKET_ID in message.subject
    assert TICKET_ID in message.body
    assert "No dial tone on the Madrid trunk" in message.body


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
