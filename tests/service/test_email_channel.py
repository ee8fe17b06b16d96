"""The email channel against a real SMTP server (aiosmtpd) on a free local port."""

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notifier.channels.email import NOTIFICATION_ID_HEADER, EmailChannel
from shared.customers import Contact, Language
from shared.mongo import Document

SENDER = "Switchboard Support <support@switchboard.example>"
ADDRESS = "noc@acme.example"
CONTACT = Contact(contact_id="noc", name="ACME NOC", email=ADDRESS, language=Language.ES)
NOTIFICATION: Document = {
    "_id": "NTF-0123456789ABCDEFGHJKMNPQRS",
    "event_id": "event-1",
    "event_type": "PublicUpdatePosted",
    "ticket_id": "TCK-0123456789ABCDEF",
    "customer_id": "acme-telecom",
    "contact_id": "noc",
    "channel": "email",
    "language": "es",
    "address": ADDRESS,
    "subject": "Actualización del ticket TCK-0123456789ABCDEF",
    "body": "Estamos probando otra ruta con el operador.\nLe mantendremos informado.",
    "occurred_at": "2026-11-25T09:30:00+00:00",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """An SMTP handler that keeps what it accepts, or answers RCPT or DATA with a refusal."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_recipient: str | None = None
        self.refuse_data: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_recipient:
            return self.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def channel(port: int) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, SENDER, timeout_s=5.0)


async def test_the_email_arrives_with_subject_body_and_the_notification_id(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox

    result = await channel(port).deliver(NOTIFICATION, CONTACT)

    assert result.delivered
    (message,) = box.messages
    assert box.envelopes == [("support@switchboard.example", [ADDRESS])]
    assert message["To"] == ADDRESS
    assert message["From"] == SENDER
    assert message["Subject"] == NOTIFICATION["subject"]
    assert message.get_content().replace("\r\n", "\n").strip() == NOTIFICATION["body"]
    assert message.get_content_type() == "text/plain"
    # A receiver deduplicates on either: the same notification always carries the same id.
    assert message[NOTIFICATION_ID_HEADER] == NOTIFICATION["_id"]
    assert message["Message-ID"] == f"<{NOTIFICATION['_id']}@switchboard.example>"
    assert message["Content-Language"] == "es"
    assert message["Auto-Submitted"] == "auto-generated"


async def test_the_same_notification_sent_twice_carries_the_same_message_id(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox

    await channel(port).deliver(NOTIFICATION, CONTACT)
    await channel(port).deliver(NOTIFICATION, CONTACT)

    assert [m["Message-ID"] for m in box.messages] == [box.messages[0]["Message-ID"]] * 2


@pytest.mark.parametrize(
    ("refusal", "where", "retryable"),
    [
        ("550 5.1.1 No such user here", "recipient", False),
        ("554 5.6.0 Message refused", "data", False),
        ("451 4.3.0 Mailbox busy, try again later", "recipient", True),
        ("452 4.3.1 Insufficient system storage", "data", True),
    ],
    ids=["5xx-recipient", "5xx-data", "4xx-recipient", "4xx-data"],
)
async def test_a_refusal_is_retried_only_when_it_is_temporary(
    mailbox: tuple[Mailbox, int], refusal: str, where: str, retryable: bool
) -> None:
    box, port = mailbox
    if where == "recipient":
        box.refuse_recipient = refusal
    else:
        box.refuse_data = refusal

    result = await channel(port).deliver(NOTIFICATION, CONTACT)

    assert not result.delivered
    assert result.retryable is retryable
    assert result.status_code == int(refusal[:3])
    assert result.error is not None
    assert refusal[:3] in result.error
    assert box.messages == []


async def test_an_smtp_server_that_is_down_is_a_retryable_failure() -> None:
    result = await channel(free_port()).deliver(NOTIFICATION, CONTACT)

    assert not result.delivered
    assert result.retryable
    assert result.error is not None


async def test_a_contact_without_an_email_address_any_more_is_not_retried(
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    without_email = Contact(contact_id="noc", name="ACME NOC")

    result = await channel(port).deliver(NOTIFICATION, without_email)

    assert not result.delivered
    assert not result.retryable
    assert box.messages == []
