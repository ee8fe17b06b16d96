"""Delivery events: the notifier publishes what became of each attempt, the workflow keeps it.

The notifier side runs on a recording publisher; the trip over Kafka to the ticket runs on
the in-memory broker with the workflow's real subscriber and a fake ticket store.
"""

from typing import Any, cast

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pymongo.errors import BulkWriteError

from services.notifier.channels.base import DeliveryResult
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.delivery_events import (
    DeliveryEventPublisher,
    KafkaDeliveryEvents,
    recorded_events,
)
from services.notifier.settings import NotifierSettings
from services.workflow.deliveries import TicketDeliveries
from services.workflow.subscribers import build_delivery_router
from shared.deliveries import (
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
    delivery_event_id,
)
from shared.kafka import DeadLetterPolicy, create_broker
from shared.mongo import DUPLICATE_KEY, Collection, Document
from shared.producers import DirectPublisher
from shared.settings import Environment
from shared.topics import NOTIFICATION_EVENTS
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
    kafka_bootstrap="127.0.0.1:1",
    delivery_max_attempts=3,
    delivery_backoff_s=10.0,
    delivery_lease_s=30.0,
)
TICKET_ID = "TCK-0123456789ABCDEF"
NOC = {
    "contact_id": "noc",
    "name": "ACME network operations",
    "webhook": {"url": "https://hooks.acme.example/switchboard", "secret": "s" * 32},
}
ACME = {"_id": "acme-telecom", "name": "ACME Telecom", "contacts": [NOC]}
DELIVERED = DeliveryResult(delivered=True, status_code=204)
SERVER_ERROR = DeliveryResult(delivered=False, status_code=503, error="HTTP 503")
REJECTED = DeliveryResult(delivered=False, status_code=410, error="HTTP 410", retryable=False)


def notification(channel: Channel = Channel.WEBHOOK, **fields: Any) -> Document:
    return {
        "_id": "NTF-1",
        "event_id": "event-1",
        "event_type": "PublicUpdatePosted",
        "ticket_id": TICKET_ID,
        "customer_id": "acme-telecom",
        "contact_id": "noc",
        "channel": channel.value,
        "address": "https://hooks.acme.example/switchboard",
        "subject": "Update on your ticket",
        "body": "...",
        "occurred_at": NOW.isoformat(),
        "created_at": NOW,
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": NOW,
        "attempts": 0,
        **fields,
    }


def in_app_notification() -> Document:
    return notification(
        Channel.IN_APP,
        _id="NTF-2",
        contact_id="account",
        address=None,
        status=DeliveryStatus.DELIVERED.value,
        delivered_at=NOW,
        next_attempt_at=None,
    )


class Notifier:
    def __init__(self, *results: DeliveryResult, events: DeliveryEventPublisher | None = None):
        self.store = FakeNotificationStore()
        self.clock = FixedClock(NOW)
        self.recorded = RecordedDeliveryEvents()
        self.worker = DeliveryWorker(
            self.store,
            FakeCustomerDirectory(ACME),
            {Channel.WEBHOOK.value: FakeChannel(iter(results))},
            self.clock,
            SETTINGS,
            events or self.recorded,
        )

    async def deliver(self, document: Document) -> Document:
        self.store.documents[document["_id"]] = dict(document)
        await self.worker.deliver(dict(document))
        return self.store.documents[document["_id"]]

    async def retry_when_due(self) -> None:
        self.clock.advance(SETTINGS.delivery_backoff_s)
        await self.worker.deliver_due()


# --- the notifier publishes each attempt's outcome ------------------------------------------


async def test_a_delivered_notification_is_sent_then_delivered_with_deterministic_ids() -> None:
    notifier = Notifier(DELIVERED)

    await notifier.deliver(notification())

    sent, delivered = notifier.recorded.published
    assert isinstance(sent, NotificationSent)
    assert isinstance(delivered, NotificationDelivered)
    assert sent.event_id == delivery_event_id("NTF-1", 1, "sent")
    assert delivered.event_id == delivery_event_id("NTF-1", 1, "delivered")
    assert delivered.model_dump(exclude={"event_id", "type"}) == {
        "schema_version": 1,
        "occurred_at": NOW,
        "notification_id": "NTF-1",
        "ticket_id": TICKET_ID,
        "incident_id": None,
        "customer_id": "acme-telecom",
        "contact_id": "noc",
        "channel": "webhook",
        "event_type": "PublicUpdatePosted",
        "attempt": 1,
        "error": None,
    }


async def test_a_failed_attempt_that_will_be_retried_is_only_sent_with_its_error() -> None:
    notifier = Notifier(SERVER_ERROR, DELIVERED)

    await notifier.deliver(notification())
    first_attempt = list(notifier.recorded.published)
    await notifier.retry_when_due()

    assert [(e.type, e.attempt, e.error) for e in first_attempt] == [
        ("NotificationSent", 1, "HTTP 503")
    ]
    assert notifier.recorded.types() == [
        "NotificationSent",
        "NotificationSent",
        "NotificationDelivered",
    ]
    assert notifier.recorded.published[-1].attempt == 2


async def test_a_notification_given_up_is_published_as_failed() -> None:
    notifier = Notifier(REJECTED)

    await notifier.deliver(notification())

    sent, failed = notifier.recorded.published
    assert isinstance(failed, NotificationFailed)
    assert (sent.error, failed.error) == ("HTTP 410", "HTTP 410")
    assert failed.event_id == delivery_event_id("NTF-1", 1, "failed")


async def test_the_last_attempt_failing_is_published_as_failed() -> None:
    notifier = Notifier(SERVER_ERROR)

    await notifier.deliver(notification(attempts=SETTINGS.delivery_max_attempts - 1))

    assert notifier.recorded.types() == ["NotificationSent", "NotificationFailed"]
    assert notifier.recorded.published[-1].attempt == SETTINGS.delivery_max_attempts


async def test_a_notification_no_channel_could_take_is_failed_without_being_sent() -> None:
    notifier = Notifier(DELIVERED)

    await notifier.deliver(notification(contact_id="left-the-company"))

    (failed,) = notifier.recorded.published
    assert isinstance(failed, NotificationFailed)
    assert failed.error == "no such contact or channel any more"


async def test_an_in_app_notification_is_delivered_when_stored_and_again_idempotently() -> None:
    notifier = Notifier()
    stored = [in_app_notification(), notification()]

    await notifier.worker.stored(stored)
    await notifier.worker.stored(stored)  # the event was redelivered: same ids again

    first, again = notifier.recorded.published
    assert isinstance(first, NotificationDelivered)
    assert (first.notification_id, first.channel, first.attempt) == ("NTF-2", "in_app", 0)
    assert first.contact_id == "account"
    assert again == first
    assert notifier.worker._wakeup.is_set()  # the pending webhook is delivered now


# --- nothing is lost when Kafka is down ---------------------------------------------------


async def test_events_kept_off_kafka_by_an_outage_are_published_by_the_relay() -> None:
    recorded = RecordedDeliveryEvents(down=True)
    notifier = Notifier(SERVER_ERROR, DELIVERED, events=recorded)

    with pytest.raises(ConnectionError):  # the worker's task logs it
        await notifier.deliver(notification())
    stored = notifier.store.documents["NTF-1"]
    assert (stored["attempts"], stored["events_owed"]) == (1, True)

    assert await notifier.worker.publish_owed_events() == 0  # within the lease: not yet
    recorded.down = False
    notifier.clock.advance(SETTINGS.delivery_lease_s + 1)
    relayed = await notifier.worker.publish_owed_events()

    assert relayed == 1
    assert recorded.published == [
        NotificationSent(
            event_id=delivery_event_id("NTF-1", 1, "sent"),
            occurred_at=NOW,
            notification_id="NTF-1",
            ticket_id=TICKET_ID,
            customer_id="acme-telecom",
            contact_id="noc",
            channel="webhook",
            event_type="PublicUpdatePosted",
            attempt=1,
            error="HTTP 503",
        )
    ]
    assert notifier.store.documents["NTF-1"]["events_owed"] is False
    assert await notifier.worker.publish_owed_events() == 0


async def test_the_relay_republishes_a_given_up_notification_as_sent_and_failed() -> None:
    recorded = RecordedDeliveryEvents(down=True)
    notifier = Notifier(REJECTED, events=recorded)
    with pytest.raises(ConnectionError):
        await notifier.deliver(notification())
    recorded.down = False
    notifier.clock.advance(SETTINGS.delivery_lease_s + 1)

    await notifier.worker.publish_owed_events()

    assert [e.event_id for e in recorded.published] == [
        delivery_event_id("NTF-1", 1, "sent"),
        delivery_event_id("NTF-1", 1, "failed"),
    ]


# --- over Kafka to the ticket's timeline -----------------------------------------------------


class FakeRecords:
    """The workflow's delivery-record collection: one document per event id, kept once."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    async def insert_many(self, documents: list[Document], ordered: bool) -> None:
        """Unordered, as the workflow asks: every new one is kept, the known ones refused."""
        assert not ordered
        known = []
        for index, document in enumerate(documents):
            if document["_id"] in self.documents:
                known.append({"index": index, "code": DUPLICATE_KEY})
            else:
                self.documents[document["_id"]] = dict(document)
        if known:
            raise BulkWriteError({"writeErrors": known})

    def for_ticket(self, ticket_id: str) -> list[Document]:
        return [d for d in self.documents.values() if d["ticket_id"] == ticket_id]


async def test_delivery_events_are_recorded_for_the_ticket_once() -> None:
    records = FakeRecords()
    broker = create_broker(
        SETTINGS,
        client_id="switchboard-workflow",
        dead_letter=DeadLetterPolicy("switchboard-workflow", backoff_s=0),
    )
    deliveries = TicketDeliveries(cast(Collection, records))
    broker.include_router(build_delivery_router(deliveries, "switchboard-workflow"))
    seen: list[tuple[bytes | None, str]] = []

    @broker.subscriber(NOTIFICATION_EVENTS.name, group_id="operator")
    async def watch(body: Any, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        seen.append((record.key, message.headers["event-type"]))

    events = KafkaDeliveryEvents(
        DirectPublisher(broker, broker.publisher(NOTIFICATION_EVENTS.name))
    )
    async with TestKafkaBroker(broker):
        notifier = Notifier(DELIVERED, events=events)
        await notifier.deliver(notification())
        for event in list(_published(notifier)):  # a redelivery changes nothing
            await broker.publish(event, NOTIFICATION_EVENTS.name, key=TICKET_ID.encode())

    assert seen[:2] == [
        (TICKET_ID.encode(), "NotificationSent"),
        (TICKET_ID.encode(), "NotificationDelivered"),
    ]
    recorded = sorted(records.for_ticket(TICKET_ID), key=lambda d: d["type"], reverse=True)
    assert [(d["type"], d["attempt"]) for d in recorded] == [
        ("NotificationSent", 1),
        ("NotificationDelivered", 1),
    ]
    delivered = recorded[1]
    assert delivered["_id"] == delivery_event_id("NTF-1", 1, "delivered")
    assert (delivered["channel"], delivered["contact_id"], delivered["event_type"]) == (
        "webhook",
        "noc",
        "PublicUpdatePosted",
    )


def _published(notifier: Notifier) -> list[Document]:
    """The events the notifier's delivery produced, rebuilt from what it recorded."""
    stored = notifier.store.documents["NTF-1"]
    return [event.model_dump(mode="json") for event in recorded_events(stored)]
