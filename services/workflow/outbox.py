"""Publishing a ticket's pending events, on the normal path and by the relay after a crash."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import get_args

from faststream.kafka.publisher import DefaultPublisher

from services.workflow.store import TicketStore, pending_events
from shared.events import DevelopmentEvent
from shared.mongo import Document

log = logging.getLogger("switchboard.workflow.outbox")

DEVELOPMENT_EVENT_TYPES = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in get_args(get_args(DevelopmentEvent)[0])
)


class TicketLocks:
    """One writer per ticket document inside this process.

    FerretDB's SQLite backend does not isolate concurrent updates of one document, so a
    command's save and the relay's bookkeeping on the same ticket must never overlap.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, ticket_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(ticket_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not lock._waiters:
                self._locks.pop(ticket_id, None)


class Outbox:
    def __init__(
        self,
        store: TicketStore,
        publisher: DefaultPublisher,
        development_publisher: DefaultPublisher,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._development_publisher = development_publisher
        self.locks = TicketLocks()

    async def flush(self, document: Document) -> int:
        """Publish the document's pending events in order, then mark them sent."""
        events = pending_events(document)
        ticket_id = document["_id"]
        for event in events:
            key, headers = ticket_id.encode(), {"event-type": event["type"]}
            await self._publisher.publish(event, key=key, headers=headers)
            if event.get("development_ticket_id") and event["type"] in DEVELOPMENT_EVENT_TYPES:
                await self._development_publisher.publish(event, key=key, headers=headers)
        if events:
            await self._store.mark_published(ticket_id, [e["event_id"] for e in events])
        return len(events)


class OutboxRelay:
    """Re-publishes events a crash left pending; consumers deduplicate on event id."""

    def __init__(
        self,
        outbox: Outbox,
        store: TicketStore,
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
