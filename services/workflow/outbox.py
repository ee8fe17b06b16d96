"""Publishing an aggregate's pending events, on the normal path and by the relay after a crash.

Tickets and incidents alike keep their outbox inside their document; an `Outbox` publishes
one kind of document's events to its topic, keyed by the document's id.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, get_args

from faststream.kafka.publisher import DefaultPublisher
from prometheus_client import Counter

from services.workflow.documents import DocumentLocks, pending_events
from shared.events import DevelopmentEvent
from shared.logs import handling
from shared.mongo import Document
from shared.tracing import TRACEPARENT, Tracing

log = logging.getLogger("switchboard.workflow.outbox")

DEVELOPMENT_EVENT_TYPES = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in get_args(get_args(DevelopmentEvent)[0])
)


class PendingEvents(Protocol):
    """Where an outbox's documents live: it marks events sent and finds those left pending."""

    async def mark_published(self, aggregate_id: str, event_ids: list[str], /) -> None: ...

    async def mark_published_many(self, sent: Mapping[str, list[str]], /) -> None: ...

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]: ...


class SentInBatch:
    """Events a batch of commands published, to be marked sent in one write at its end.

    A document handled twice in a batch still holds the events the first command sent (they
    are marked at the end): they are not sent again.
    """

    def __init__(self) -> None:
        self.events: dict[str, list[str]] = {}

    def already_sent(self, aggregate_id: str) -> set[str]:
        return set(self.events.get(aggregate_id, ()))

    def add(self, aggregate_id: str, event_ids: list[str]) -> None:
        self.events.setdefault(aggregate_id, []).extend(event_ids)


class Outbox:
    def __init__(
        self,
        store: PendingEvents,
        publisher: DefaultPublisher,
        development_publisher: DefaultPublisher | None = None,
        published: Counter | None = None,
        aggregate_id: str = "ticket_id",
    ) -> None:
        self.aggregate_id = aggregate_id  # what a log line calls the document's id
        self._store = store
        self._publisher = publisher
        self._development_publisher = development_publisher
        self._published = published  # events published, by type
        self.locks = DocumentLocks()

    async def flush(self, document: Document, batch: SentInBatch | None = None) -> int:
        """Publish the document's pending events in order, then mark them sent: at once, or
        with the rest of the batch."""
        aggregate_id = document["_id"]
        sent = batch.already_sent(aggregate_id) if batch else set()
        events = [e for e in pending_events(document) if e["event_id"] not in sent]
        if not events:
            return 0
        await self._publish(aggregate_id.encode(), events)
        event_ids = [e["event_id"] for e in events]
        if batch is None:
            await self._store.mark_published(aggregate_id, event_ids)
        else:
            batch.add(aggregate_id, event_ids)
        return len(events)

    async def _publish(self, key: bytes, events: list[Document]) -> None:
        """Sent in order without waiting on each (one producer keeps a partition's order),
        then every acknowledgement awaited."""
        confirmations = []
        for event in events:
            headers = {"event-type": event["type"]}
            publishers = [self._publisher]
            if self._development_publisher is not None and _is_development(event):
                publishers.append(self._development_publisher)
            for publisher in publishers:
                confirmations.append(
                    await publisher.publish(event, key=key, headers=headers, no_confirm=True)
                )
        # The in-memory test broker delivers at once and returns no future.
        await asyncio.gather(*(c for c in confirmations if isinstance(c, asyncio.Future)))
        if self._published is not None:
            for event in events:
                self._published.labels(event["type"]).inc()


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
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing or Tracing.off()
        self._outbox = outbox
        self._store = store
        self._clock = clock
        self._interval_s = interval_s
        self._grace = timedelta(seconds=grace_s)

    async def relay_once(self) -> int:
        stale = await self._store.with_pending_events(self._clock() - self._grace, limit=500)
        published = 0
        for document in stale:
            # In the trace of the command that saved the events, stored with them.
            with (
                self._tracing.span("outbox relay", parent=document.get(TRACEPARENT)),
                handling(**{self._outbox.aggregate_id: document["_id"]}),
            ):
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
