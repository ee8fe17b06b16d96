"""The delivery events a notification's attempts produce, and the topic they are published on.

Events are derived from the notification document alone, with deterministic ids, so the
relay can re-publish an attempt's events after a crash and consumers see the same events.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.deliveries import (
    NotificationDelivered,
    NotificationEvent,
    NotificationFailed,
    NotificationSent,
    Outcome,
    delivery_event_id,
)
from shared.mongo import Document
from shared.producers import DirectPublisher
from shared.vocabulary import DeliveryStatus

_MODELS: dict[Outcome, type[NotificationSent | NotificationDelivered | NotificationFailed]] = {
    "sent": NotificationSent,
    "delivered": NotificationDelivered,
    "failed": NotificationFailed,
}


class DeliveryEventPublisher(Protocol):
    async def publish(self, events: Sequence[NotificationEvent]) -> None:
        """Publish in order; returns once the broker acknowledged every one."""
        ...


class KafkaDeliveryEvents:
    """Delivery events on the notification-events topic, keyed by ticket like its events,
    or by incident for a broadcast's."""

    def __init__(self, publisher: DirectPublisher) -> None:
        self._publisher = publisher

    async def publish(self, events: Sequence[NotificationEvent]) -> None:
        # Handed to the producer in order and acknowledged together: a broadcast's thousands
        # of events travel in a few batches rather than one round trip each.
        await self._publisher.publish([(delivery_key(e), e, e.type) for e in events])


def delivery_key(event: NotificationEvent) -> str:
    """The partition key: the ticket's id, or the incident's for a broadcast."""
    key = event.ticket_id or event.incident_id
    if key is None:
        raise ValueError(f"delivery event {event.event_id} names no ticket and no incident")
    return key


def attempt_events(
    notification: Document, outcome: Document, *, gave_up: bool
) -> list[NotificationEvent]:
    """Sent when the channel had it; then Delivered, or Failed once given up."""
    attempt: int = outcome["attempt"]
    events: list[NotificationEvent] = []
    if outcome.get("sent_at") is not None:
        error = None if outcome["delivered"] else outcome.get("error")
        events.append(_event("sent", notification, attempt, outcome["sent_at"], error))
    if outcome["delivered"]:
        events.append(_event("delivered", notification, attempt, outcome["at"]))
    elif gave_up:
        events.append(_event("failed", notification, attempt, outcome["at"], outcome.get("error")))
    return events


def stored_events(notification: Document) -> list[NotificationEvent]:
    """An in-app notification is delivered by being stored: attempt 0."""
    if notification.get("status") != DeliveryStatus.DELIVERED.value or notification.get("outcomes"):
        return []
    delivered_at = notification.get("delivered_at") or notification["created_at"]
    return [_event("delivered", notification, 0, delivered_at)]


def recorded_events(notification: Document) -> list[NotificationEvent]:
    """Every event the recorded attempts produced: what the relay re-publishes."""
    outcomes: list[Document] = notification.get("outcomes", [])
    failed = notification.get("status") == DeliveryStatus.FAILED.value
    return [
        event
        for number, outcome in enumerate(outcomes, start=1)
        for event in attempt_events(
            notification,
            {"attempt": number, **outcome},
            gave_up=failed and number == len(outcomes),
        )
    ]


def _event(
    outcome: Outcome,
    notification: Document,
    attempt: int,
    at: datetime,
    error: str | None = None,
) -> NotificationEvent:
    return _MODELS[outcome](
        event_id=delivery_event_id(notification["_id"], attempt, outcome),
        occurred_at=at,
        notification_id=notification["_id"],
        ticket_id=notification.get("ticket_id"),
        incident_id=notification.get("incident_id"),
        customer_id=notification["customer_id"],
        contact_id=notification.get("contact_id"),
        channel=notification["channel"],
        event_type=notification["event_type"],
        attempt=attempt,
        error=error[:2_000] if error else None,
    )
