"""Delivers broadcast chunks: every notification of a chunk, stored once its outcome is known.

A broadcast notification is written once, in bulk, after its first attempt: the notifications
collection is only ever inserted into on this path, never scanned or updated document by
document. What a chunk already stored is kept in its small progress record, so a chunk handed
out again (its instance died, its offset was not committed) delivers only what is left.

At most `broadcast_concurrency` deliveries are under way at once, and at most
`broadcast_unrecorded_max` are under way or done but not yet recorded: a delivery takes one of
those permits before it starts and gives it back only once its outcome is stored, so that is
all a crash can repeat, while deliveries go on during a flush. A failed attempt is stored
with its retry time and left to the delivery worker.
"""

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from services.notifier.broadcasts.store import BroadcastStore, ChunkProgress, chunk_key
from services.notifier.directory import CustomerDirectory
from services.notifier.domain.broadcast import notification_documents
from services.notifier.notifications.deliveries import Attempt, DeliveryWorker
from services.notifier.notifications.delivery_events import (
    DeliveryEventPublisher,
    attempt_events,
    stored_events,
)
from services.notifier.notifications.store import NotificationStore
from services.notifier.settings import NotifierSettings
from shared.customers import Contact, WebhookAddress
from shared.deliveries import NotificationEvent
from shared.incidents import BroadcastChunk
from shared.mongo import Document
from shared.tracing import TRACEPARENT, current_traceparent
from shared.vocabulary import Channel, DeliveryStatus

log = logging.getLogger("switchboard.notifier.broadcasts")

FLUSH_INTERVAL_S = 0.25  # settled notifications are stored at least this often


@dataclass
class _ChunkRun:
    key: str
    lease_until: datetime
    settled: list[tuple[Document, list[NotificationEvent]]] = field(default_factory=list)
    held: int = 0  # unrecorded permits taken and not yet given back by a flush
    flush_now: asyncio.Event = field(default_factory=asyncio.Event)


class BroadcastDeliveries:
    def __init__(
        self,
        store: NotificationStore,
        broadcasts: BroadcastStore,
        contacts: "BroadcastContacts",
        worker: DeliveryWorker,
        events: DeliveryEventPublisher,
        clock: Callable[[], datetime],
        settings: NotifierSettings,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._broadcasts = broadcasts
        self._contacts = contacts
        self._worker = worker
        self._events = events
        self._clock = clock
        self._sleep = sleep
        self._lease = timedelta(seconds=settings.broadcast_lease_s)
        self._slots = asyncio.Semaphore(settings.broadcast_concurrency)
        self._unrecorded = asyncio.Semaphore(settings.broadcast_unrecorded_max)
        # Stored as soon as a quarter of the permits wait on it: deliveries rarely stall.
        self._flush_at = max(1, settings.broadcast_unrecorded_max // 4)
        self.owner = f"notifier-{uuid.uuid4().hex[:12]}"

    async def on_chunk(self, chunk: BroadcastChunk) -> int:
        """Store and deliver the chunk's notifications; returns how many were attempted."""
        key = chunk_key(chunk.event.event_id, chunk.chunk)
        progress = await self._claim(key, chunk)
        if progress is None:
            return 0  # done before: a copy of the chunk, or a redelivery after the commit
        documents = notification_documents(chunk, self._clock())
        if (traceparent := current_traceparent()) is not None:  # for the worker's retries
            for document in documents:
                document[TRACEPARENT] = traceparent
        in_app = [d for d in documents if d["channel"] == Channel.IN_APP.value]
        new = await self._store.add_new(in_app)
        self._worker.count_stored([d for d in in_app if d["_id"] in new])
        # Every in-app one, new or not: their events are idempotent, and a crash may have
        # kept some off Kafka.
        await self._events.publish([event for d in in_app for event in stored_events(d)])
        await self._broadcasts.count_in_app(key, len(in_app))
        outgoing = [
            d
            for d in documents
            if d["channel"] != Channel.IN_APP.value and d["_id"] not in progress.stored
        ]
        await self._deliver_all(_ChunkRun(key, progress.lease_until), outgoing)
        await self._broadcasts.complete(key, self._clock(), len(documents))
        return len(outgoing)

    async def _claim(self, key: str, chunk: BroadcastChunk) -> ChunkProgress | None:
        """Make this instance the chunk's owner, waiting out a live owner's claim; None when
        the chunk is complete."""
        info = {"event_id": chunk.event.event_id, "incident_id": chunk.event.incident_id}
        while True:
            now = self._clock()
            lease_until = now + self._lease
            progress = await self._broadcasts.progress(key)
            if progress is None:
                if await self._broadcasts.start(key, self.owner, lease_until, info):
                    return ChunkProgress(self.owner, lease_until)
            elif progress.completed:
                return None
            elif progress.owner == self.owner or progress.lease_until <= now:
                await self._broadcasts.take_over(key, self.owner, lease_until)
                return ChunkProgress(self.owner, lease_until, stored=progress.stored)
            else:
                log.info("waiting for a chunk's claim to run out", extra={"chunk": key})
                await self._sleep((progress.lease_until - now).total_seconds())

    async def _deliver_all(self, run: _ChunkRun, documents: list[Document]) -> None:
        finished = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._flush_until(finished, run))
                async with asyncio.TaskGroup() as deliveries:
                    for document in documents:
                        await self._unrecorded.acquire()
                        run.held += 1
                        await self._slots.acquire()  # bounded: not a task per recipient
                        deliveries.create_task(self._deliver_into(document, run))
                finished.set()
                run.flush_now.set()
            await self._flush(run)  # what settled during the last flush
        except ExceptionGroup as failed:
            # The error itself, so the dead-letter policy can tell a transient outage
            # (Kafka or MongoDB down: retry the chunk) from anything else.
            raise _first(failed) from failed
        finally:
            self._give_back(run, run.held)  # only left over when the chunk failed

    async def _deliver_into(self, document: Document, run: _ChunkRun) -> None:
        try:
            settled = await self._deliver(document)
        finally:
            self._slots.release()
        # Looked up after the delivery: a flush swaps the list while it runs.
        run.settled.append(settled)
        if len(run.settled) >= self._flush_at:
            run.flush_now.set()

    def _give_back(self, run: _ChunkRun, permits: int) -> None:
        run.held -= permits
        for _ in range(permits):
            self._unrecorded.release()

    async def _deliver(self, document: Document) -> tuple[Document, list[NotificationEvent]]:
        try:
            contact = await self._contacts.contact_for(document)
            attempt = await self._worker.attempt(document, contact)
        except Exception:
            # Not lost: stored as due, the delivery worker tries it like any other.
            log.exception("broadcast delivery failed unexpectedly", extra={"id": document["_id"]})
            return {**document, "leased_at": None}, []
        settled = settled_document(document, attempt)
        return settled, attempt_events(settled, attempt.outcome, gave_up=attempt.gave_up)

    async def _flush_until(self, finished: asyncio.Event, run: _ChunkRun) -> None:
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.flush_now.wait(), FLUSH_INTERVAL_S)
            run.flush_now.clear()
            await self._flush(run)

    async def _flush(self, run: _ChunkRun) -> None:
        """Store what settled, publish its delivery events, then note it in the chunk's
        progress (renewing the claim): in that order, so whatever a crash interrupts is
        delivered again rather than lost."""
        settled, run.settled = run.settled, []
        now = self._clock()
        if not settled and run.lease_until - now > self._lease / 2:
            return
        documents = [document for document, _ in settled]
        new = await self._store.add_new(documents)
        await self._events.publish([event for _, events in settled for event in events])
        recovered = [document["_id"] for document in documents if document["_id"] not in new]
        if recovered:  # before they are noted as stored, which would end their recovery
            await self._count_recovered(run.key, recovered)
        run.lease_until = now + self._lease
        await self._broadcasts.record_stored(
            run.key,
            [document["_id"] for document in documents],
            run.lease_until,
            Counter(document["status"] for document in documents if document["_id"] in new),
        )
        self._give_back(run, len(settled))

    async def _count_recovered(self, key: str, ids: list[str]) -> None:
        """Notifications an earlier owner stored and died before counting, counted as stored.

        One it stored after a single attempt is counted by that attempt's status: nothing
        else counts it. One the delivery worker has tried since is counted as pending, the
        status the worker's own count moves it from (once it has, or once it will have).
        """
        for state in await self._store.attempt_states(ids):
            status = state["status"]
            if state.get("attempts", 0) > 1:
                status = DeliveryStatus.PENDING.value
            await self._broadcasts.count_recovered(key, state["_id"], status)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


def settled_document(document: Document, attempt: Attempt) -> Document:
    """The notification as the store records an attempt's outcome, written in one go."""
    outcome = attempt.outcome
    fields: Document = {
        "attempts": outcome["attempt"],
        "outcomes": [outcome],
        "leased_at": None,
        "events_owed": False,  # published right after it is stored, or redelivered with it
        "outcome_recorded_at": outcome["at"],
    }
    if attempt.delivered:
        fields |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": outcome["at"]}
    elif attempt.retry_at is not None:
        fields |= {"next_attempt_at": attempt.retry_at, "last_error": outcome["error"]}
    else:
        fields |= {"status": DeliveryStatus.FAILED.value, "last_error": outcome["error"]}
    return {**document, **fields}


class BroadcastContacts:
    """Contacts as a channel needs them, without a directory read per recipient: the address
    comes with the chunk; webhook signing secrets from one pass over the directory, kept a
    while (a webhook added since is looked up on its own)."""

    def __init__(
        self, directory: CustomerDirectory, clock: Callable[[], datetime], ttl_s: float
    ) -> None:
        self._directory = directory
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._webhooks: dict[tuple[str, str], WebhookAddress] = {}
        self._read_at: datetime | None = None
        self._reading = asyncio.Lock()

    async def contact_for(self, notification: Document) -> Contact | None:
        customer_id, contact_id = notification["customer_id"], notification["contact_id"]
        channel, address = notification["channel"], notification.get("address")
        webhook = None
        if channel == Channel.WEBHOOK.value:
            # Read after the event at the latest, as its audience was: one pass for a whole
            # broadcast rather than one lookup per customer enrolled since the last read.
            read_after = datetime.fromisoformat(notification["occurred_at"])
            webhooks = await self._webhook_addresses(read_after)
            webhook = webhooks.get((customer_id, contact_id))
            if webhook is None:
                return await self._directory.contact(customer_id, contact_id)
        try:
            return Contact(
                contact_id=contact_id,
                name=contact_id,
                email=address if channel == Channel.EMAIL.value else None,
                phone=address if channel == Channel.SMS.value else None,
                webhook=webhook,
                in_app=False,
            )
        except ValidationError:
            return None  # the channel fails it for good: no such contact any more

    async def _webhook_addresses(
        self, read_after: datetime
    ) -> dict[tuple[str, str], WebhookAddress]:
        async with self._reading:
            now = self._clock()
            if (
                self._read_at is None
                or now - self._read_at >= self._ttl
                or (self._read_at < read_after)
            ):
                self._webhooks = await self._directory.webhook_addresses()
                self._read_at = now
        return self._webhooks
