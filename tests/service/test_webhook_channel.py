"""The webhook channel: a signed POST the receiver can verify and deduplicate, sent to a real
HTTP server on loopback."""

import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from services.notifier.channels.base import DeliveryResult
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.domain.signature import SIGNATURE_HEADER, WEBHOOK_ID_HEADER, verify
from services.notifier.settings import NotifierSettings
from shared.customers import Contact, WebhookAddress
from shared.mongo import Document

SECRET = "whsec-0123456789abcdef"
PATH = "/switchboard"
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


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver that answers with a fixed status and keeps what it was sent."""

    status_code: int = 204
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    async def answer(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(request.method, request.path, dict(request.headers), body))
        return web.Response(status=self.status_code)


Serve = Callable[[int], Awaitable[Receiver]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(status_code: int) -> Receiver:
        receiver = Receiver(status_code)
        app = web.Application()
        app.router.add_post(PATH, receiver.answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        receiver.url = f"http://127.0.0.1:{port}{PATH}"
        return receiver

    yield start
    for runner in runners:
        await runner.cleanup()


def contact(url: str) -> Contact:
    return Contact(
        contact_id="noc", name="ACME NOC", webhook=WebhookAddress(url=url, secret=SECRET)
    )


async def deliver_to(url: str) -> DeliveryResult:
    channel = WebhookChannel(timeout_s=5.0)
    try:
        return await channel.deliver(NOTIFICATION, contact(url))
    finally:
        await channel.aclose()


async def test_a_2xx_answer_means_delivered(serve: Serve) -> None:
    receiver = await serve(204)

    result = await deliver_to(receiver.url)

    assert result == DeliveryResult(delivered=True, status_code=204)
    assert len(receiver.requests) == 1


async def test_the_receiver_can_verify_the_signature_and_deduplicate_on_the_key(
    serve: Serve,
) -> None:
    receiver = await serve(200)

    await deliver_to(receiver.url)

    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", PATH)
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.body, int(time.time()))
    assert request.headers["Idempotency-Key"] == NOTIFICATION["_id"]
    assert request.headers["Switchboard-Event-Type"] == "TicketOpened"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["notification_id"] == NOTIFICATION["_id"]
    assert body["ticket_id"] == NOTIFICATION["ticket_id"]
    assert body["message"] == NOTIFICATION["body"]


async def test_a_standard_webhooks_library_verifies_every_attempt_under_one_id(
    serve: Serve,
) -> None:
    receiver = await serve(200)

    await deliver_to(receiver.url)
    await deliver_to(receiver.url)  # a retry of the same notification

    receiver_library = Webhook(SECRET.encode())  # a free-form secret is used as its bytes
    for request in receiver.requests:
        assert receiver_library.verify(request.body, request.headers) == json.loads(request.body)
    assert {request.headers[WEBHOOK_ID_HEADER] for request in receiver.requests} == {
        NOTIFICATION["_id"]
    }


async def test_the_legacy_signature_can_be_turned_off_in_the_settings(serve: Serve) -> None:
    receiver = await serve(200)
    channel = WebhookChannel.from_settings(NotifierSettings(webhook_legacy_signature=False))

    await channel.deliver(NOTIFICATION, contact(receiver.url))
    await channel.aclose()

    (request,) = receiver.requests
    assert SIGNATURE_HEADER not in request.headers
    Webhook(SECRET.encode()).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("status_code", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (400, False), (404, False), (410, False)],
)
async def test_a_refusal_is_retried_only_when_a_retry_can_help(
    serve: Serve, status_code: int, retryable: bool
) -> None:
    receiver = await serve(status_code)

    result = await deliver_to(receiver.url)

    assert not result.delivered
    assert result.retryable is retryable
    assert result.error == f"HTTP {status_code}"


async def test_an_unreachable_receiver_is_a_retryable_failure() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = await deliver_to(f"http://127.0.0.1:{port}{PATH}")

    assert not result.delivered
    assert result.retryable
    assert result.error is not None
    assert "Connect" in result.error


async def test_a_contact_without_a_webhook_any_more_is_not_retried(serve: Serve) -> None:
    receiver = await serve(204)
    channel = WebhookChannel()

    result = await channel.deliver(NOTIFICATION, Contact(contact_id="noc", name="ACME NOC"))
    await channel.aclose()

    assert not result.delivered
    assert not result.retryable
    assert receiver.requests == []
