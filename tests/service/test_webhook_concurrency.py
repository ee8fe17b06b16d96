"""The webhook channel never has more than N deliveries in flight to one receiver."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notifier.channels.webhook import (
    EndpointBusy,
    EndpointSlots,
    WebhookChannel,
    origin_of,
)
from shared.customers import Contact, WebhookAddress
from shared.mongo import Document

LIMIT = 3
ANSWER_AFTER_S = 0.2


@dataclass
class InFlight:
    """Counts requests being answered, now and at most, across every server sharing it."""

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


@dataclass
class SlowReceiver:
    url: str
    in_flight: InFlight = field(default_factory=InFlight)
    received: int = 0


@pytest.fixture
def receivers() -> Iterator[tuple[SlowReceiver, SlowReceiver, InFlight]]:
    overall = InFlight()
    servers: list[ThreadingHTTPServer] = []
    found: list[SlowReceiver] = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        receiver = SlowReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/sb")
        server.RequestHandlerClass = _handler(receiver, overall)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        found.append(receiver)
    try:
        yield found[0], found[1], overall
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _handler(receiver: SlowReceiver, overall: InFlight) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.in_flight.enter()
            overall.enter()
            try:
                time.sleep(ANSWER_AFTER_S)
                receiver.received += 1
            finally:
                receiver.in_flight.leave()
                overall.leave()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
async def channel() -> AsyncIterator[WebhookChannel]:
    webhooks = WebhookChannel(max_concurrent_per_endpoint=LIMIT, timeout_s=10.0)
    yield webhooks
    await webhooks.aclose()


def contact_for(url: str) -> Contact:
    return Contact(contact_id="noc", name="NOC", webhook=WebhookAddress(url=url, secret="s" * 32))


def notification(number: int) -> Document:
    return {
        "_id": f"NTF-{number}",
        "event_id": f"event-{number}",
        "event_type": "TicketOpened",
        "ticket_id": "TCK-0123456789ABCDEF",
        "customer_id": "acme-telecom",
        "subject": "We received your ticket",
        "body": "...",
        "occurred_at": "2026-11-25T09:30:00+00:00",
    }


async def test_at_most_the_limit_is_in_flight_to_one_endpoint_and_the_rest_wait(
    receivers: tuple[SlowReceiver, SlowReceiver, InFlight], channel: WebhookChannel
) -> None:
    first, second, overall = receivers
    burst = [
        channel.deliver(notification(n), contact_for(receiver.url))
        for receiver in (first, second)
        for n in range(10)
    ]

    results = await asyncio.gather(*burst)

    assert all(result.delivered for result in results)
    assert (first.received, second.received) == (10, 10)
    assert first.in_flight.most == LIMIT
    assert second.in_flight.most == LIMIT
    # The limit is per endpoint: one slow receiver does not hold back another.
    assert overall.most == 2 * LIMIT


async def test_paths_of_one_origin_share_its_limit() -> None:
    assert origin_of("https://hooks.acme.example/a") == origin_of(
        "https://hooks.acme.example:443/b"
    )
    assert origin_of("http://hooks.acme.example/a") != origin_of("https://hooks.acme.example/a")
    assert origin_of("https://hooks.acme.example/a") != origin_of(
        "https://hooks.acme.example:8443/a"
    )


async def test_a_delivery_that_finds_no_free_slot_in_time_is_retried_later() -> None:
    slots = EndpointSlots(limit=1, wait_s=0.05)

    async with slots.slot("https://hooks.acme.example:443"):
        with pytest.raises(EndpointBusy):
            async with slots.slot("https://hooks.acme.example:443"):
                pass
        async with slots.slot("https://hooks.globex.example:443"):
            pass  # another endpoint is not affected


async def test_an_endpoint_nobody_delivers_to_holds_no_semaphore() -> None:
    slots = EndpointSlots(limit=2, wait_s=0.05)

    async with slots.slot("https://hooks.acme.example:443"):
        pass

    assert slots._semaphores == {}
