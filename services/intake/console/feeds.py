"""Kafka as the console reads it: outside any consumer group, committing nothing.

Each intake instance serves its own consoles, so each must see every partition: a shared
group would split them between instances. A console starts from a snapshot of the store, so
the follower starts at the end of the ticket events and has nothing to commit.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.topics import DEAD_LETTER, TICKET_EVENTS, DeadLetterHeader

DEAD_LETTERS_SHOWN = 20
POLL_MS = 1000


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    offset: int
    at: str
    key: str | None
    type: str
    source_topic: str
    error: str

    def as_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "at": self.at,
            "key": self.key,
            "type": self.type,
            "source_topic": self.source_topic,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Arrivals:
    """What one poll brought: the tickets whose events arrived, and new dead letters."""

    ticket_ids: list[str]
    dead_letters: list[DeadLetterEntry]


class TopicFollower:
    """Follows the ticket events (from now on) and the dead letters (the newest, then on)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def position(self) -> None:
        events = [TopicPartition(TICKET_EVENTS.name, p) for p in range(TICKET_EVENTS.partitions)]
        letters = TopicPartition(DEAD_LETTER.name, 0)
        self._consumer.assign([*events, letters])
        await self._consumer.seek_to_end(*events)
        first = (await self._consumer.beginning_offsets([letters]))[letters]
        end = (await self._consumer.end_offsets([letters]))[letters]
        self._consumer.seek(letters, max(first, end - DEAD_LETTERS_SHOWN))

    async def next_arrivals(self) -> Arrivals:
        batches = await self._consumer.getmany(timeout_ms=POLL_MS)
        ticket_ids: dict[str, None] = {}
        letters = []
        for where, records in batches.items():
            for record in records:
                if where.topic == DEAD_LETTER.name:
                    letters.append(_dead_letter(record))
                elif record.key is not None:
                    ticket_ids[record.key.decode(errors="replace")] = None
        return Arrivals(list(ticket_ids), letters)


@asynccontextmanager
async def followed_topics(bootstrap: str) -> AsyncIterator[TopicFollower]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    try:
        await consumer.start()
        follower = TopicFollower(consumer)
        await follower.position()
        yield follower
    finally:
        await consumer.stop()


def _dead_letter(record: Any) -> DeadLetterEntry:
    headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
    try:
        payload = json.loads(record.value or b"")
    except ValueError:
        payload = None
    kind = str(payload.get("type", "?")) if isinstance(payload, dict) else "?"
    return DeadLetterEntry(
        offset=record.offset,
        at=datetime.fromtimestamp(record.timestamp / 1000, tz=UTC).isoformat(),
        key=record.key.decode(errors="replace") if record.key is not None else None,
        type=kind,
        source_topic=headers.get(DeadLetterHeader.SOURCE_TOPIC, ""),
        error=headers.get(DeadLetterHeader.ERROR, "")[:500],
    )


class LagReader:
    """Each consumer group's lag per topic: the end offsets less what the group committed."""

    def __init__(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
        self._admin = admin
        self._consumer = consumer

    async def lag(self) -> list[dict[str, Any]]:
        groups = sorted(group for group, _protocol in await self._admin.list_consumer_groups())
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group in groups:
            offsets = await self._admin.list_consumer_group_offsets(group)
            for where, offset in offsets.items():
                if offset.offset >= 0:
                    committed[group, where] = offset.offset
        partitions = sorted({where for _group, where in committed})
        ends = await self._consumer.end_offsets(partitions) if partitions else {}
        behind: dict[tuple[str, str], int] = {}
        for (group, where), offset in committed.items():
            key = (group, where.topic)
            behind[key] = behind.get(key, 0) + max(0, ends.get(where, offset) - offset)
        return [
            {"group": group, "topic": topic, "lag": lag}
            for (group, topic), lag in sorted(behind.items())
        ]


@asynccontextmanager
async def lag_reader(bootstrap: str) -> AsyncIterator[LagReader]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    try:
        await admin.start()
        await consumer.start()
        yield LagReader(admin, consumer)
    finally:
        await consumer.stop()
        await admin.close()
