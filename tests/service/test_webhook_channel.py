"""The webhook channel: a signed POST the receiver can verify and deduplicate."""

import json
import time

import httpx
import pytest

from services.notifier.channels.base import DeliveryResult
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.domain.signature import SIGNATURE_HEADER, verify
from shared.customers import Contact, WebhookAddress
from shared.mongo import Document

SECRET = "whsec-0123456789abcdef"
URL = "https://hooks.acme.example/switchboard"
CONTACT = Contact(contact_id="noc", name="ACME NOC", webhook=WebhookAddress(url=URL, secret=SECRET))
NOTIFICATION: Document = {
    "_id": "NTF-0123456789ABCDEFGHJKMNPQRS",
    "event_id": "event-1",
    "event_type": "TicketOpened",
    "ticket_id": "TCK-0123456789ABCDEF",
    "customer_id": "acme-telecom",
    "channel": "webhook",
    "subject": "We received your ticket TCK-0123456789ABCDEF",
    "body": "Thank you for reporting it.",
    "occurred_at": "2026-11-25T09:30:00+00:00",
}


class Receiver:
    """A webhook receiver that answers with a fixed status and keeps what it was sent."""

    def __init__(self, status_code: int = 204) -> None:
        self.status_code = status_code
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status_code)


async def deliver_to(receiver: Receiver | httpx.MockTransport) -> DeliveryResult:
    transport = (
        receiver if isinstance(receiver, httpx.MockTransport) else httpx.MockTransport(receiver)
    )
    async with httpx.AsyncClient(transport=transport) as client:
        return await WebhookChannel(client).deliver(NOTIFICATION, CONTACT)


async def test_a_2xx_answer_means_delivered() -> None:
    receiver = Receiver(204)

    result = await deliver_to(receiver)

    assert result == DeliveryResult(delivered=True, status_code=204)
    assert len(receiver.requests) == 1


async def test_the_receiver_can_verify_the_signature_and_deduplicate_on_the_key() -> None:
    receiver = Receiver(200)

    await deliver_to(receiver)

    (request,) = receiver.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.content, int(time.time()))
    assert request.headers["Idempotency-Key"] == NOTIFICATION["_id"]
    assert request.headers["Switchboard-Event-Type"] == "TicketOpened"
    body = json.loads(request.content)
    assert body["notification_id"] == NOTIFICATION["_id"]
    assert body["ticket_id"] == NOTIFICATION["ticket_id"]
    assert body["message"] == NOTIFICATION["body"]


@pytest.mark.parametrize(
    ("status_code", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (400, False), (404, False), (410, False)],
)
async def test_a_refusal_is_retried_only_when_a_retry_can_help(
    status_code: int, retryable: bool
) -> None:
    result = await deliver_to(Receiver(status_code))

    assert not result.delivered
    assert result.retryable is retryable
    assert result.error == f"HTTP {status_code}"


async def test_an_unreachable_receiver_is_a_retryable_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = await deliver_to(httpx.MockTransport(refuse))

    assert not result.delivered
    assert result.retryable
    assert result.error is not None
    assert "ConnectError" in result.error


async def test_a_contact_without_a_webhook_any_more_is_not_retried() -> None:
    receiver = Receiver(204)
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        result = await WebhookChannel(client).deliver(
            NOTIFICATION, Contact(contact_id="noc", name="ACME NOC")
        )

    assert not result.delivered
    assert not result.retryable
    assert receiver.requests == []
