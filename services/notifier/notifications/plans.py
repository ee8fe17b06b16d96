"""Turns ticket events into stored notifications: one per recipient, channel and event."""

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.notifier.directory import CustomerDirectory
from services.notifier.domain.audience import Recipient, recipients
from services.notifier.domain.policy import kind_of, message_for
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.store import NotificationStore
from shared.batches import in_order_per_key
from shared.customers import ALWAYS_SENT, MessageKind
from shared.events import Event
from shared.logs import handling
from shared.mongo import Document
from shared.tracing import TRACEPARENT, Tracing, current_traceparent
from shared.vocabulary import Channel, DeliveryStatus, notification_id

log = logging.getLogger("switchboard.notifier")


TICKETS_AT_ONCE = 64  # tickets of one consumed batch handled side by side


def _ticket_of(event: Event) -> str:
    return event.ticket_id


class TicketNotifications:
    def __init__(
        self,
        store: NotificationStore,
        directory: CustomerDirectory,
        worker: DeliveryWorker,
        clock: Callable[[], datetime],
        email_hold_s: float = 0.0,
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing or Tracing.off()
        self._store = store
        self._directory = directory
        self._worker = worker
        self._clock = clock
        self._email_hold = timedelta(seconds=email_hold_s)

    async def on_events(
        self, events: Sequence[Event], headers: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """A consumed batch: each ticket's events in order, tickets side by side; with tracing
        on, each in a span continuing the trace its message's `headers` carry."""
        if not self._tracing.enabled:
            await in_order_per_key(events, _ticket_of, self.on_event, TICKETS_AT_ONCE)
            return
        traced = {e.event_id: h for e, h in zip(events, headers, strict=False)}

        async def on_traced_event(event: Event) -> int:
            with self._tracing.span(
                f"{type(event).__name__} notify",
                parent=traced.get(event.event_id),
                attributes={"switchboard.ticket_id": event.ticket_id},
            ):
                return await self.on_event(event)

        await in_order_per_key(events, _ticket_of, on_traced_event, TICKETS_AT_ONCE)

    async def on_event(self, event: Event) -> int:
        """Store what the customer must be told; delivery happens in the worker."""
        with handling(ticket_id=event.ticket_id):
            return await self._notify(event)

    async def _notify(self, event: Event) -> int:
        if not event.customer_visible:
            return 0
        customer = await self._directory.customer(event.customer_id)
        kind = kind_of(event)
        now = self._clock()
        traceparent = current_traceparent() if self._tracing.enabled else None
        documents = [
            document
            for recipient in recipients(customer, kind)
            if (document := self._notification(event, recipient, now)) is not None
        ]
        if traceparent is not None:  # the worker delivers it in this trace, later
            for document in documents:
                document[TRACEPARENT] = traceparent
        new = await self._store.add_new(documents)
        self._worker.count_stored([d for d in documents if d["_id"] in new])
        if self._email_hold and kind not in ALWAYS_SENT:
            await self._fold_bursts([d for d in documents if d["_id"] in new])
        # Every document, new or not: a redelivered event finishes what a crash interrupted.
        await self._worker.stored(documents)
        return len(new)

    async def _fold_bursts(self, documents: list[Document]) -> None:
        """An email still held for the same ticket and contact takes this news along."""
        for document in documents:
            if document["channel"] == Channel.EMAIL.value:
                await self._store.fold_into_held(document)

    def _notification(self, event: Event, recipient: Recipient, now: datetime) -> Document | None:
        message = message_for(event, recipient.language)
        if message is None:
            return None
        recipient_id = f"{event.customer_id}/{recipient.contact_id}"
        return {
            "_id": notification_id(event.event_id, recipient_id, recipient.channel.value),
            "event_id": event.event_id,
            "event_type": type(event).__name__,
            "kind": kind_of(event).value,
            "ticket_id": event.ticket_id,
            "customer_id": event.customer_id,
            "contact_id": recipient.contact_id,
            "channel": recipient.channel.value,
            "language": recipient.language.value,
            "address": recipient.address,
            "subject": message.subject,
            "body": message.body,
            "occurred_at": event.occurred_at.isoformat(),
            "created_at": now,
            **self._initial_delivery_state(recipient.channel, kind_of(event), now),
        }

    def _initial_delivery_state(
        self, channel: Channel, kind: MessageKind, now: datetime
    ) -> Document:
        if channel is Channel.IN_APP:
            # Stored is delivered: the customer reads it over HTTP or follows it live.
            return {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "attempts": 0}
        held = channel is Channel.EMAIL and kind not in ALWAYS_SENT
        due = now + self._email_hold if held else now
        return {
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": due,
            "leased_at": None,
            "attempts": 0,
        }
