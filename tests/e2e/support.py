"""Helpers for end-to-end tests: waiting for eventual outcomes, reading topics directly, and the
real servers (webhook receiver, mail server, SMS gateway) that stand in for the customer's side."""

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.mongo import Document
from shared.topics import Topic

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongo_url: str


@dataclass(frozen=True)
class Keys:
    system: str
    agent: str


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Document:
        payload: Document = json.loads(self.body)
        return payload


@dataclass
class WebhookSink:
    """A real HTTP server that records what it receives and answers with scripted statuses."""

    url: str
    received: list[ReceivedRequest] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed first; then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: ReceivedRequest) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else 200

    def for_ticket(self, ticket_id: str) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.received if r.json().get("ticket_id") == ticket_id]


@dataclass
class SmsGateway:
    """A real HTTP server standing in for the SMS gateway: it records every request it gets,
    headers (the gateway token in `Authorization`) and JSON body alike."""

    url: str
    received: list[ReceivedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: ReceivedRequest) -> int:
        with self.lock:
            self.received.append(request)
        return 202

    def texts_to(self, number: str) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.received if r.json().get("to") == number]


@dataclass
class ChatInbox:
    """A real HTTP server standing in for a chat webhook: keeps the text of every message."""

    url: str
    texts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: ReceivedRequest) -> int:
        with self.lock:
            self.texts.append(str(request.json()["text"]))
        return 200

    def naming(self, *words: str) -> list[str]:
        with self.lock:
            return [text for text in self.texts if all(word in text for word in words)]


@dataclass(frozen=True)
class ReceivedEmail:
    recipients: list[str]  # the SMTP envelope's, not the To header's
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        # SMTP carries lines ending in CRLF; what the reader sees is the lines.
        return str(self.message.get_content()).replace("\r\n", "\n").strip()

    def header(self, name: str) -> str:
        value = self.message[name]
        assert value is not None, f"email {self.subject!r} has no {name} header"
        return str(value)


@dataclass
class Mailbox:
    """An aiosmtpd handler: the real SMTP server on `host:port` keeps what it accepts here."""

    host: str
    port: int
    received: list[ReceivedEmail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, _class=EmailMessage, policy=default)
        with self.lock:
            self.received.append(ReceivedEmail(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedEmail]:
        with self.lock:
            return [email for email in self.received if address in email.recipients]


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str


async def server_sent_events(
    response: httpx.Response,
) -> AsyncGenerator[ServerSentEvent, None]:
    """The events of a `text/event-stream` response as they arrive; comments (pings) skipped."""
    data: list[str]
    event, data = "message", []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield ServerSentEvent(event, "\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))


async def until(probe: Callable[[], Awaitable[T | None]], what: str, within_s: float = 30.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + within_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within_s:.0f}s")
        await asyncio.sleep(0.1)


async def records_with_key(
    bootstrap: str, topic: Topic, key: str
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `key` on `topic` now, read with a plain consumer, in partition order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while not await _caught_up(consumer, ends):
            batches = await consumer.getmany(timeout_ms=500)
            found += [r for rs in batches.values() for r in rs if r.key == key.encode()]
        return found
    finally:
        await consumer.stop()


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return False
    return True
