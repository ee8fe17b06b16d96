"""Publishing an aggregate's pending events, on the normal path and by the relay after a crash.

Tickets and incidents alike keep their outbox inside their document; an `Outbox` publishes
one kind of document's events to its topic, keyed by the document's id.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, get_args

from faststream.kafka.publisher import DefaultPublisher

from services.workflow.documents import DocumentLocks, pending_events
from shared.events import DevelopmentEvent
from shared.mongo import Document

log = logging.getLogger("switchboard.workflow.outbox")

DEVELOPMENT_EVENT_TYPES = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in get_args(get_args(DevelopmentEvent)[0])
)


class PendingEvents(Protocol):
    """Where an outbox's documents live: it marks events sent and finds those left pending."""

    async def mark_published(self, aggregate_id: str, event_ids: list[str], /) -> None: ...

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]: ...


class Outbox:
    def __init__(
        self,
        store: PendingEvents,
        publisher: DefaultPublisher,
        development_publisher: DefaultPublisher | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._development_publisher = development_publisher
        self.locks = DocumentLocks()

    async def flush(self, document: Document) -> int:
        """Publish the document's pending events in order, then mark them sent."""
        events = pending_events(document)
        aggregate_id = document["_id"]
        for event in events:
            key, headers = aggregate_id.encode(), {"event-type": event["type"]}
            await self._publisher.publish(event, key=key, headers=headers)
            if self._development_publisher is not None and _is_development(event):
                await self._development_publisher.publish(event, key=key, headers=headers)
        if events:
            await self._store.mark_published(aggregate_id, [e["event_id"] for e in events])
        return len(events)


def _is_development(event: Document) -> bool:
    return bool(event.get("development_ticket_id")) and event["type"] in DEVELOPMENT_EVENT_TYPES


class OutboxRelay:
    """Re-publishes events a crash left pending; consumers deduplicate on event id."""

    def __init__(
        self,
        outbox: Outbox,
        store: PendingEvents,
        clock: Callable[[], datetime],
        interval_s: float,
        grace_s: float,
    ) -> None:
        self._outbox = outbox
        self._store = store
        self._clock = clock
        self._interval_s = interval_s
        self._grace = timedelta(seconds=grace_s)

    async def relay_once(self) -> int:
        stale = await self._store.with_pending_events(self._clock() - self._grace, limit=500)
        published = 0
        for document in stale:
            async with self._outbox.locks.hold(document["_id"]):
                published += await self._outbox.flush(document)
        if published:
            log.info("relayed pending events", extra={"events": published})
        return published

    async def run(self) -> None:
        while True:
            try:
                await self.relay_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying next interval")
            await asyncio.sleep(self._interval_s)
