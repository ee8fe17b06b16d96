"""Turns ticket events into stored notifications: one per recipient, channel and event."""

import logging
from collections.abc import Callable
from datetime import datetime

from services.notifier.deliveries import DeliveryWorker
from services.notifier.domain.audience import Recipient, recipients
from services.notifier.domain.policy import kind_of, message_for
from services.notifier.store import CustomerDirectory, NotificationStore
from shared.events import Event
from shared.mongo import Document
from shared.vocabulary import Channel, DeliveryStatus, notification_id

log = logging.getLogger("switchboard.notifier")


class TicketNotifications:
    def __init__(
        self,
        store: NotificationStore,
        directory: CustomerDirectory,
        worker: DeliveryWorker,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._directory = directory
        self._worker = worker
        self._clock = clock

    async def on_event(self, event: Event) -> int:
        """Store what the customer must be told; delivery happens in the worker."""
        if not event.customer_visible:
            return 0
        customer = await self._directory.customer(event.customer_id)
        kind = kind_of(event)
        now = self._clock()
        documents = [
            document
            for recipient in recipients(customer, kind)
            if (document := self._notification(event, recipient, now)) is not None
        ]
        added = await self._store.add(documents)
        # Every document, new or not: a redelivered event finishes what a crash interrupted.
        await self._worker.stored(documents)
        return added

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
            **_initial_delivery_state(recipient.channel, now),
        }


def _initial_delivery_state(channel: Channel, now: datetime) -> Document:
    if channel is Channel.IN_APP:
        # Stored is delivered: the customer reads it over HTTP or follows it live.
        return {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "attempts": 0}
    return {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now, "attempts": 0}
