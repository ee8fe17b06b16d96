"""Aggregate documents that carry their own events and outbox, written by their commands alone.

Each document is its aggregate's state at the top level, every event it produced (`events`)
and `outbox_pending` (ids of events saved but not yet acknowledged by Kafka). State, events
and outbox change in one single-document write, guarded by `version` (atomic on MongoDB and
on the embedded store: tests/store). Only the aggregate's own commands write it, one at a
time per process (`DocumentLocks`), so a lost version race is rare and simply decided again.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from pymongo import ReturnDocument, UpdateOne

from shared.coalesce import CoalescedInserts
from shared.mongo import Collection, Document
from shared.tracing import TRACEPARENT, current_traceparent

log = logging.getLogger("switchboard.workflow")

ATTEMPTS_ON_CONFLICT = 3
T = TypeVar("T")


class ConcurrentUpdate(Exception):
    """Another writer saved this document since it was loaded; load it again and re-decide."""


class DocumentLocks:
    """One writer per aggregate document inside this process.

    A command's save and the relay's bookkeeping on the same document must never overlap.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, aggregate_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(aggregate_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not lock._waiters:
                self._locks.pop(aggregate_id, None)


async def apply_one_at_a_time(
    locks: DocumentLocks, aggregate_id: str, apply: Callable[[], Awaitable[T]]
) -> T:
    """Apply a command under the document's lock; decide again if another writer won a race."""
    attempt = 1
    while True:
        try:
            async with locks.hold(aggregate_id):
                return await apply()
        except ConcurrentUpdate:
            if attempt == ATTEMPTS_ON_CONFLICT:
                raise
            attempt += 1
            log.info("document changed meanwhile; deciding again", extra={"id": aggregate_id})


class AggregateDocuments:
    """A collection of aggregate documents, each with its events and embedded outbox."""

    def __init__(self, documents: Collection) -> None:
        self._documents = documents
        self._inserts = CoalescedInserts(documents)  # new documents of a batch: one write

    async def get(self, aggregate_id: str) -> Document | None:
        return await self._documents.find_one({"_id": aggregate_id})

    async def get_many(self, aggregate_ids: Iterable[str]) -> dict[str, Document]:
        """The documents that exist among these ids, by id, in one read."""
        cursor = self._documents.find({"_id": {"$in": list(aggregate_ids)}})
        return {document["_id"]: document async for document in cursor}

    async def _save(
        self,
        aggregate_id: str,
        state: Document,
        new_events: Sequence[BaseModel],
        loaded_version: int | None,
    ) -> Document:
        """Insert a new document or update a loaded one; ConcurrentUpdate on a lost race."""
        events = [event.model_dump(mode="json") for event in new_events]
        event_ids = [event["event_id"] for event in events]
        if (traceparent := current_traceparent()) is not None:
            # The trace the relay continues if these events are left pending: same write.
            state = {**state, TRACEPARENT: traceparent}
        if loaded_version is None:
            document = {"_id": aggregate_id, **state, "events": events, "outbox_pending": event_ids}
            if not await self._inserts.insert_new([document]):
                raise ConcurrentUpdate(aggregate_id)
            return document
        saved: Document | None = await self._documents.find_one_and_update(
            {"_id": aggregate_id, "version": loaded_version},
            {
                "$set": state,
                "$push": {"events": {"$each": events}, "outbox_pending": {"$each": event_ids}},
            },
            return_document=ReturnDocument.AFTER,
        )
        if saved is None:
            raise ConcurrentUpdate(aggregate_id)
        return saved

    async def mark_published(self, aggregate_id: str, event_ids: list[str]) -> None:
        await self._documents.update_one(
            {"_id": aggregate_id}, {"$pullAll": {"outbox_pending": event_ids}}
        )

    async def mark_published_many(self, sent: Mapping[str, list[str]]) -> None:
        """A batch's sent events, every document's in one write."""
        if sent:
            await self._documents.bulk_write(
                [
                    UpdateOne({"_id": aggregate_id}, {"$pullAll": {"outbox_pending": event_ids}})
                    for aggregate_id, event_ids in sent.items()
                ],
                ordered=False,
            )

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]:
        # "Any pending event id" as a range on the multikey `outbox_pending` index: the relay
        # reads the few documents with pending events, not the whole collection.
        cursor = self._documents.find(
            {"outbox_pending": {"$gt": ""}, "updated_at": {"$lt": updated_before}},
            limit=limit,
        )
        return [document async for document in cursor]


def pending_events(document: Document) -> list[Document]:
    pending = set(document.get("outbox_pending", []))
    return [event for event in document.get("events", []) if event["event_id"] in pending]


def holds_event(document: Document, event_id: str) -> bool:
    """The event is on the document: the command that produced it was applied already."""
    events = document.get("events", [])
    return isinstance(events, list) and any(e.get("event_id") == event_id for e in events)
