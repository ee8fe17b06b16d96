"""The delivery worker: hand a notification to its channel and record what happened."""

from datetime import timedelta
from typing import Any

import pytest

from services.notifier.channels.base import DeliveryResult
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.settings import NotifierSettings
from shared.customers import Contact
from shared.mongo import Document
from shared.settings import Environment
from shared.vocabulary import Channel, DeliveryStatus
from tests.service.fakes import (
    NOW,
    FakeChannel,
    FakeCustomerDirectory,
    FakeNotificationStore,
    FixedClock,
    RecordedDeliveryEvents,
)

SETTINGS = NotifierSettings(
    environment=Environment.TEST,
    delivery_max_attempts=3,
    delivery_backoff_s=10.0,
    delivery_backoff_max_s=60.0,
    delivery_concurrency=2,
    delivery_lease_s=30.0,
)
NOC = {
    "contact_id": "noc",
    "name": "ACME network operations",
    "webhook": {"url": "https://hooks.acme.example/switchboard", "secret": "s" * 32},
}
ACME = {"_id": "acme-telecom", "name": "ACME Telecom", "contacts": [NOC]}
DELIVERED = DeliveryResult(delivered=True, status_code=204)
SERVER_ERROR = DeliveryResult(delivered=False, status_code=503, error="HTTP 503")
REJECTED = DeliveryResult(delivered=False, status_code=400, error="HTTP 400", retryable=False)


def webhook_notification(number: int = 1, attempts: int = 0, **fields: Any) -> Document:
    return {
        "_id": f"NTF-{number}",
        "event_id": f"event-{number}",
        "event_type": "TicketOpened",
        "ticket_id": "TCK-0123456789ABCDEF",
        "customer_id": "acme-telecom",
        "contact_id": "noc",
        "channel": Channel.WEBHOOK.value,
        "address": "https://hooks.acme.example/switchboard",
        "subject": "We received your ticket",
        "body": "...",
        "occurred_at": NOW.isoformat(),
        "created_at": NOW,
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": NOW,
        "attempts": attempts,
        **fields,
    }


class Notifier:
    def __init__(self, *results: DeliveryResult, customers: tuple[Document, ...] = (ACME,)) -> None:
        self.store = FakeNotificationStore()
        self.channel = FakeChannel(iter(results))
        self.clock = FixedClock(NOW)
        self.events = RecordedDeliveryEvents()
        self.worker = DeliveryWorker(
            self.store,
            FakeCustomerDirectory(*customers),
            {Channel.WEBHOOK.value: self.channel},
            self.clock,
            SETTINGS,
            self.events,
        )

    async def deliver(self, notification: Document) -> Document:
        self.store.documents[notification["_id"]] = dict(notification)
        await self.worker.deliver(notification)
        return self.store.documents[notification["_id"]]


async def test_a_delivered_notification_is_recorded_as_delivered() -> None:
    notifier = Notifier(DELIVERED)

    stored = await notifier.deliver(webhook_notification())

    assert stored["status"] == DeliveryStatus.DELIVERED
    assert stored["delivered_at"] == NOW
    assert stored["attempts"] == 1
    assert stored["outcomes"] == [
        {
            "attempt": 1,
            "sent_at": NOW,
            "at": NOW,
            "delivered": True,
            "status_code": 204,
            "error": None,
        }
    ]


async def test_the_channel_gets_the_contact_the_notification_is_for() -> None:
    notifier = Notifier(DELIVERED)
    notification = webhook_notification()

    await notifier.deliver(notification)

    assert notifier.channel.deliveries == [(notification, Contact.model_validate(NOC))]


async def test_a_retryable_failure_schedules_a_retry_with_backoff() -> None:
    notifier = Notifier(SERVER_ERROR)

    stored = await notifier.deliver(webhook_notification(attempts=0))

    assert stored["status"] == DeliveryStatus.PENDING
    assert stored["attempts"] == 1
    assert stored["last_error"] == "HTTP 503"
    # First retry: between half and all of the base backoff, jitter decides.
    base = timedelta(seconds=SETTINGS.delivery_backoff_s)
    assert NOW + base / 2 <= stored["next_attempt_at"] <= NOW + base


async def test_a_later_retry_waits_longer() -> None:
    notifier = Notifier(SERVER_ERROR)

    stored = await notifier.deliver(webhook_notification(attempts=1))

    second = timedelta(seconds=2 * SETTINGS.delivery_backoff_s)
    assert NOW + second / 2 <= stored["next_attempt_at"] <= NOW + second


@pytest.mark.parametrize(
    ("result", "attempts_before", "error"),
    [
        (REJECTED, 0, "HTTP 400"),
        (SERVER_ERROR, SETTINGS.delivery_max_attempts - 1, "HTTP 503"),
    ],
    ids=["not-retryable", "last-attempt"],
)
async def test_a_delivery_that_cannot_succeed_is_marked_failed(
    result: DeliveryResult, attempts_before: int, error: str
) -> None:
    notifier = Notifier(result)

    stored = await notifier.deliver(webhook_notification(attempts=attempts_before))

    assert stored["status"] == DeliveryStatus.FAILED
    assert stored["attempts"] == attempts_before + 1
    assert stored["last_error"] == error
    assert stored["next_attempt_at"] == NOW  # not rescheduled


@pytest.mark.parametrize(
    "customers",
    [(), ({**ACME, "contacts": [{**NOC, "contact_id": "billing"}]},)],
    ids=["unknown-customer", "contact-removed"],
)
async def test_without_a_contact_the_delivery_fails_and_is_not_retried(
    customers: tuple[Document, ...],
) -> None:
    notifier = Notifier(DELIVERED, customers=customers)

    stored = await notifier.deliver(webhook_notification())

    assert stored["status"] == DeliveryStatus.FAILED
    assert stored["last_error"] == "no such contact or channel any more"
    assert notifier.channel.deliveries == []


async def test_a_channel_nobody_configured_fails_without_retrying() -> None:
    notifier = Notifier(DELIVERED)

    stored = await notifier.deliver(webhook_notification(channel="carrier_pigeon"))

    assert stored["status"] == DeliveryStatus.FAILED
    assert notifier.channel.deliveries == []


async def test_a_delivery_pass_delivers_every_due_notification_and_nothing_else() -> None:
    notifier = Notifier()
    due = [webhook_notification(n) for n in (1, 2, 3)]
    later = webhook_notification(4, next_attempt_at=NOW + timedelta(minutes=5))
    notifier.store.documents.update({n["_id"]: dict(n) for n in [*due, later]})

    started = await notifier.worker.deliver_due()

    assert started == 3
    assert sorted(n["_id"] for n, _ in notifier.channel.deliveries) == ["NTF-1", "NTF-2", "NTF-3"]
    statuses = {i: d["status"] for i, d in notifier.store.documents.items()}
    assert statuses == {
        "NTF-1": DeliveryStatus.DELIVERED,
        "NTF-2": DeliveryStatus.DELIVERED,
        "NTF-3": DeliveryStatus.DELIVERED,
        "NTF-4": DeliveryStatus.PENDING,
    }


async def test_a_retry_is_picked_up_once_it_falls_due() -> None:
    notifier = Notifier(SERVER_ERROR, DELIVERED)
    notifier.store.documents["NTF-1"] = webhook_notification()

    first = await notifier.worker.deliver_due()
    too_early = await notifier.worker.deliver_due()
    notifier.clock.advance(SETTINGS.delivery_backoff_s)
    retried = await notifier.worker.deliver_due()

    assert (first, too_early, retried) == (1, 0, 1)
    assert notifier.store.documents["NTF-1"]["status"] == DeliveryStatus.DELIVERED
    assert notifier.store.documents["NTF-1"]["attempts"] == 2
