"""The delivery loop: lease due notifications, hand them to their channel, record the outcome,
then publish it as delivery events."""

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import ValidationError

from services.notifier.broadcasts.store import chunk_key
from services.notifier.channels.base import ChannelAdapter, DeliveryResult
from services.notifier.directory import CustomerDirectory
from services.notifier.domain.retry import retry_at
from services.notifier.metrics import DeliveryCounters
from services.notifier.notifications.delivery_events import (
    DeliveryEventPublisher,
    attempt_events,
    recorded_events,
    stored_events,
)
from services.notifier.notifications.store import NotificationStore
from services.notifier.settings import NotifierSettings
from shared.customers import Contact
from shared.deliveries import NotificationEvent
from shared.logs import handling
from shared.mongo import Document
from shared.tracing import TRACEPARENT, Tracing
from shared.vocabulary import DeliveryStatus

log = logging.getLogger("switchboard.notifier.deliveries")

RELAY_BATCH = 100
_NO_CONTACT = DeliveryResult(
    delivered=False, error="no such contact or channel any more", retryable=False
)


class SettledCounts(Protocol):
    """Where a broadcast notification's settling is counted (its chunk's progress record)."""

    async def count_settled(self, chunk_key: str, notification_id: str, status: str, /) -> None: ...


FINAL_STATUSES = {DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt's outcome, as recorded on the notification, and what comes next."""

    outcome: Document
    retry_at: datetime | None  # when to try again, if it failed and a retry may help

    @property
    def delivered(self) -> bool:
        return bool(self.outcome["delivered"])

    @property
    def gave_up(self) -> bool:
        return not self.delivered and self.retry_at is None


class DeliveryWorker:
    def __init__(
        self,
        store: NotificationStore,
        directory: CustomerDirectory,
        channels: Mapping[str, ChannelAdapter],
        clock: Callable[[], datetime],
        settings: NotifierSettings,
        events: DeliveryEventPublisher,
        settled: SettledCounts | None = None,
        counters: DeliveryCounters | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing or Tracing.off()
        self._store = store
        self._counters = counters
        self._settled = settled
        self._directory = directory
        self._channels = channels
        self._clock = clock
        self._settings = settings
        self._events = events
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """New notifications were stored: deliver now rather than at the next poll."""
        self._wakeup.set()

    async def stored(self, documents: Sequence[Document]) -> None:
        """Notifications of one event were stored (or found stored already, on a redelivery).

        Those delivered by being stored (in-app) are published as delivered; the worker is
        woken for the others. Pass every document of the event, not only the new ones: the
        events are idempotent, so a redelivered event re-publishes what a crash lost.
        """
        events = [event for document in documents for event in stored_events(document)]
        if events:
            await self._events.publish(events)
        if any(d.get("status") == DeliveryStatus.PENDING.value for d in documents):
            self.wake()

    def count_stored(self, new: Sequence[Document]) -> None:
        """Count the notifications just stored that storing delivered (in-app)."""
        if self._counters is None:
            return
        delivered = DeliveryStatus.DELIVERED.value
        for channel, count in Counter(
            d["channel"] for d in new if d.get("status") == delivered
        ).items():
            self._counters.delivered_by_storing(channel, count)

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.deliver_due()
                await self.publish_owed_events()
            except Exception:
                log.exception("delivery pass failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._settings.delivery_poll_s)

    async def deliver_due(self) -> int:
        lease = timedelta(seconds=self._settings.delivery_lease_s)
        started = 0
        async with asyncio.TaskGroup() as group:
            while True:
                await self._slots.acquire()
                notification = await self._store.lease_due(self._clock(), lease)
                if notification is None:
                    self._slots.release()
                    return started
                group.create_task(self._deliver_and_release(notification))
                started += 1

    async def _deliver_and_release(self, notification: Document) -> None:
        try:
            await self.deliver(notification)
        except Exception:
            # Before the outcome is recorded, the lease expires and the notification is tried
            # again; after, the relay publishes its events. Log it, never lose it.
            log.exception(
                "delivery failed unexpectedly", extra={"notification": notification["_id"]}
            )
        finally:
            self._slots.release()

    async def deliver(self, notification: Document) -> None:
        """One attempt, in the trace of the event that stored the notification (if traced)."""
        with (
            self._tracing.span("notification deliver", parent=notification.get(TRACEPARENT)),
            handling(**about(notification)),
        ):
            await self._deliver(notification)

    async def _deliver(self, notification: Document) -> None:
        contact = await self._directory.contact(
            notification["customer_id"], notification.get("contact_id", "")
        )
        attempt = await self.attempt(notification, contact)
        await self._record(notification["_id"], attempt)
        if attempt.delivered or attempt.gave_up:
            status = DeliveryStatus.DELIVERED if attempt.delivered else DeliveryStatus.FAILED
            await self._count_settled(notification, status.value)
        events = attempt_events(notification, attempt.outcome, gave_up=attempt.gave_up)
        await self._publish(notification["_id"], attempt.outcome["attempt"], events)

    async def attempt(self, notification: Document, contact: Contact | None) -> Attempt:
        """Hand the notification to its channel once; nothing is recorded or published."""
        number = notification.get("attempts", 0) + 1
        result, sent_at = await self._hand_over(notification, contact)
        outcome: Document = {
            "attempt": number,
            "sent_at": sent_at,
            "at": self._clock(),
            "delivered": result.delivered,
            "status_code": result.status_code,
            "error": result.error,
        }
        if result.delivered:
            return self._counted(notification, Attempt(outcome, retry_at=None))
        retry_at = self._next_try(outcome["at"], number) if result.retryable else None
        log.warning(
            "delivery attempt failed",
            extra={
                "notification": notification["_id"],
                "error": result.error,
                "retry_at": retry_at,
            },
        )
        return self._counted(notification, Attempt(outcome, retry_at))

    def _counted(self, notification: Document, attempt: Attempt) -> Attempt:
        if self._counters is not None:
            self._counters.attempted(notification["channel"], attempt.delivered, attempt.gave_up)
        return attempt

    async def publish_owed_events(self) -> int:
        """Publish the events of outcomes recorded before a crash kept them off Kafka."""
        recorded_before = self._clock() - timedelta(seconds=self._settings.delivery_lease_s)
        published = 0
        for notification in await self._store.owing_events(recorded_before, RELAY_BATCH):
            attempts = notification.get("attempts", 0)
            try:
                events = recorded_events(notification)
            except ValidationError:
                # A document no delivery event can describe; retrying cannot change that.
                log.exception(
                    "delivery events given up", extra={"notification": notification["_id"]}
                )
                await self._store.mark_events_published(notification["_id"], attempts)
                continue
            if notification.get("status") in FINAL_STATUSES:
                await self._count_settled(notification, notification["status"])
            await self._publish(notification["_id"], attempts, events)
            published += len(events)
        return published

    async def _count_settled(self, notification: Document, status: str) -> None:
        # Before its events are published: a crash in between leaves the events owed, and the
        # relay counts it again (a no-op if it was counted).
        if self._settled is not None and notification.get("chunk") is not None:
            key = chunk_key(notification["event_id"], notification["chunk"])
            await self._settled.count_settled(key, notification["_id"], status)

    async def _record(self, notification_id: str, attempt: Attempt) -> None:
        outcome = attempt.outcome
        if attempt.delivered:
            await self._store.record_delivered(notification_id, outcome["at"], outcome)
        else:
            await self._store.record_failed_attempt(notification_id, outcome, attempt.retry_at)

    def _next_try(self, now: datetime, attempts: int) -> datetime | None:
        settings = self._settings
        return retry_at(
            now,
            attempts_made=attempts,
            max_attempts=settings.delivery_max_attempts,
            base_s=settings.delivery_backoff_s,
            cap_s=settings.delivery_backoff_max_s,
            jitter=random.random(),  # noqa: S311 - jitter, not a secret
        )

    async def _publish(
        self, notification_id: str, attempts: int, events: Sequence[NotificationEvent]
    ) -> None:
        await self._events.publish(events)
        await self._store.mark_events_published(notification_id, attempts)

    async def _hand_over(
        self, notification: Document, contact: Contact | None
    ) -> tuple[DeliveryResult, datetime | None]:
        """The channel's answer, and when the channel was handed the notification (if it was)."""
        channel = self._channels.get(notification["channel"])
        if channel is None or contact is None:
            return _NO_CONTACT, None
        sent_at = self._clock()
        with self._tracing.span(
            f"{notification['channel']} send",
            kind=SpanKind.CLIENT,
            attributes={
                "switchboard.notification_id": notification["_id"],
                "switchboard.channel": notification["channel"],
            },
        ) as span:
            result = await channel.deliver(notification, contact)
            if span is not None:
                _describe(span, result)
        return result, sent_at


def about(notification: Document) -> dict[str, str]:
    """What a notification's log lines name: its ticket, or the incident it broadcasts."""
    ids = {"notification_id": notification["_id"]}
    for name in ("ticket_id", "incident_id"):
        if notification.get(name):
            ids[name] = notification[name]
    return ids


def _describe(span: Span, result: DeliveryResult) -> None:
    if result.status_code is not None:
        span.set_attribute("http.response.status_code", result.status_code)
    if not result.delivered:
        span.set_status(Status(StatusCode.ERROR, result.error))
