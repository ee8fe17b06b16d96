"""Turns ticket events into stored notifications, one per recipient and channel."""

from collections.abc import Callable
from datetime import datetime

from services.notifier.deliveries import DeliveryWorker
from services.notifier.domain.policy import message_for
from services.notifier.store import CustomerDirectory, NotificationStore
from shared.events import Event
from shared.mongo import Document
from shared.vocabulary import Channel, DeliveryStatus, notification_id


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
        message = message_for(event)
        if message is None:
            return 0
        customer = await self._directory.get(event.customer_id) or {}
        channels = [Channel.IN_APP] + ([Channel.WEBHOOK] if customer.get("webhook") else [])
        now = self._clock()
        documents = [
            {
                "_id": notification_id(event.event_id, event.customer_id, channel.value),
                "event_id": event.event_id,
                "event_type": type(event).__name__,
                "ticket_id": event.ticket_id,
                "customer_id": event.customer_id,
                "channel": channel.value,
                "subject": message.subject,
                "body": message.body,
                "occurred_at": event.occurred_at.isoformat(),
                "created_at": now,
                **_initial_delivery_state(channel, now),
            }
            for channel in channels
        ]
        added = await self._store.add(documents)
        self._worker.wake()
        return added


def _initial_delivery_state(channel: Channel, now: datetime) -> Document:
    if channel is Channel.IN_APP:
        # Stored is delivered: the customer reads it over HTTP.
        return {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "attempts": 0}
    return {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now, "attempts": 0}
