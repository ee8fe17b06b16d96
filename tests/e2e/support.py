"""Helpers for end-to-end tests: waiting for eventual outcomes and reading topics directly."""

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

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
