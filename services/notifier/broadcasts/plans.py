"""Plans an outage broadcast: finds every affected customer and queues them in chunks.

Commit order makes a redelivered incident event safe: every chunk is on Kafka before the plan
is recorded, and the plan before the event's offset is committed. A redelivered event with a
plan is done; one without is planned again into the same chunks (customers in id order), which
the chunk handler recognises.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from faststream.kafka.publisher import DefaultPublisher

from services.notifier.broadcasts.store import BroadcastStore, chunk_key
from services.notifier.directory import CustomerDirectory
from services.notifier.domain.broadcast import (
    Audience,
    audience_of,
    chunk_recipients,
    take_chunk,
)
from services.notifier.domain.policy import kind_of
from shared.incidents import AnyIncidentEvent, BroadcastChunk

log = logging.getLogger("switchboard.notifier.broadcasts")


class ChunkQueue(Protocol):
    async def publish(self, chunk: BroadcastChunk) -> None:
        """Returns once the broker acknowledged the chunk."""
        ...


class KafkaChunkQueue:
    """Chunks on the broadcast topic, keyed by event and chunk number: a chunk published
    twice lands on one partition, behind its first copy."""

    def __init__(self, publisher: DefaultPublisher) -> None:
        self._publisher = publisher

    async def publish(self, chunk: BroadcastChunk) -> None:
        key = chunk_key(chunk.event.event_id, chunk.chunk)
        await self._publisher.publish(chunk, key=key.encode(), headers={"event-type": chunk.type})


@dataclass
class _Tally:
    customers: int = 0
    recipients: int = 0
    chunks: int = 0


class BroadcastPlanner:
    def __init__(
        self,
        directory: CustomerDirectory,
        broadcasts: BroadcastStore,
        queue: ChunkQueue,
        clock: Callable[[], datetime],
        chunk_size: int,
    ) -> None:
        self._directory = directory
        self._broadcasts = broadcasts
        self._queue = queue
        self._clock = clock
        self._chunk_size = chunk_size

    async def on_incident_event(self, event: AnyIncidentEvent) -> int:
        """Queue the event's audience in chunks; returns how many (0 if planned before)."""
        if await self._broadcasts.planned(event.event_id):
            return 0
        kind = kind_of(event)
        tally = _Tally()
        waiting: list[Audience] = []
        async for entry in self._directory.entries_in(event.scope):
            audience = audience_of(entry, event.scope, kind)
            if audience is not None:
                waiting.append(audience)
            if len(waiting) >= self._chunk_size:
                await self._queue_chunk(event, take_chunk(waiting, self._chunk_size), tally)
        while waiting:
            await self._queue_chunk(event, take_chunk(waiting, self._chunk_size), tally)
        await self._broadcasts.record_plan(self._plan(event, tally))
        log.info(
            "broadcast planned",
            extra={"event": event.event_id, "customers": tally.customers, "chunks": tally.chunks},
        )
        return tally.chunks

    async def _queue_chunk(
        self, event: AnyIncidentEvent, audiences: Sequence[Audience], tally: _Tally
    ) -> None:
        recipients = chunk_recipients(audiences)
        await self._queue.publish(
            BroadcastChunk(event=event, chunk=tally.chunks, recipients=recipients)
        )
        tally.customers += len(audiences)
        tally.recipients += len(recipients)
        tally.chunks += 1

    def _plan(self, event: AnyIncidentEvent, tally: _Tally) -> dict[str, object]:
        return {
            "_id": event.event_id,
            "incident_id": event.incident_id,
            "event_type": event.type,
            "affected_customers": tally.customers,
            "recipients": tally.recipients,
            "chunks": tally.chunks,
            "planned_at": self._clock(),
        }
