"""The SMS channel against a real local HTTP server standing in for the SMS gateway."""

import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from services.notifier.channels.sms import TEXT_LIMIT, SmsChannel
from shared.customers import Contact
from shared.mongo import Document

TOKEN = "gateway-token-0123456789"
PHONE = "+34911234567"
CONTACT = Contact(contact_id="on-call", name="ACME on call", phone=PHONE)
NOTIFICATION: Document = {
    "_id": "NTF-0123456789ABCDEFGHJKMNPQRS",
    "event_id": "event-1",
    "event_type": "PublicUpdatePosted",
    "ticket_id": "TCK-0123456789ABCDEF",
    "customer_id": "acme-telecom",
    "contact_id": "on-call",
    "channel": "sms",
    "address": PHONE,
    "subject": "Outage in Madrid",
    "body": "Calls to Madrid fail since 09:00 UTC. We are on it.",
    "occurred_at": "2026-11-25T09:30:00+00:00",
}


@dataclass(frozen=True)
class GatewayRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Gateway:
    url: str
    status: int = 202
    requests: list[GatewayRequest] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = Gateway(url=f"http://127.0.0.1:{server.server_address[1]}/v1/messages")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.requests.append(GatewayRequest(self.path, dict(self.headers), json.loads(body)))
            answer = json.dumps({"id": "msg-1"} if fake.status < 300 else {"error": "no"})
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def sms(http: httpx.AsyncClient, url: str) -> SmsChannel:
    return SmsChannel(http, url, TOKEN, "Switchboard", timeout_s=5.0)


async def test_the_gateway_gets_the_text_for_the_phone_with_token_and_idempotency_key(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    result = await sms(http, gateway.url).deliver(NOTIFICATION, CONTACT)

    assert result.delivered
    assert result.status_code == 202
    (request,) = gateway.requests
    assert request.path == "/v1/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == NOTIFICATION["_id"]
    assert request.body == {
        "to": PHONE,
        "from": "Switchboard",
        "text": f"{NOTIFICATION['subject']}\n{NOTIFICATION['body']}",
        "reference": NOTIFICATION["_id"],
    }


async def test_a_long_message_is_trimmed_to_three_segments(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    long = {**NOTIFICATION, "body": "Still working on it. " * 60}

    await sms(http, gateway.url).deliver(long, CONTACT)

    text = gateway.requests[0].body["text"]
    assert TEXT_LIMIT - 2 <= len(text) <= TEXT_LIMIT
    assert text.startswith(NOTIFICATION["subject"])
    assert text.endswith("\u2026")


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (401, False), (422, False)],
)
async def test_a_refusal_is_retried_only_when_a_retry_can_help(
    gateway: Gateway, http: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    gateway.status = status

    result = await sms(http, gateway.url).deliver(NOTIFICATION, CONTACT)

    assert not result.delivered
    assert result.status_code == status
    assert result.retryable is retryable
    assert result.error is not None
    assert result.error.startswith(f"HTTP {status}")


async def test_an_unreachable_gateway_is_a_retryable_failure(http: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    result = await sms(http, f"http://127.0.0.1:{closed_port}/v1/messages").deliver(
        NOTIFICATION, CONTACT
    )

    assert not result.delivered
    assert result.retryable
    assert result.error is not None
    assert "ConnectError" in result.error


async def test_a_contact_without_a_phone_any_more_is_not_retried(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    result = await sms(http, gateway.url).deliver(
        NOTIFICATION, Contact(contact_id="on-call", name="ACME on call")
    )

    assert not result.delivered
    assert not result.retryable
    assert gateway.requests == []
