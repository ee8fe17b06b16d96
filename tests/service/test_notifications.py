"""The notifier's event handler on an in-memory broker: who is told what, stored once."""

from datetime import timedelta

from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.notifier.channels.email import email_message
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.plans import TicketNotifications
from services.notifier.settings import NotifierSettings
from services.notifier.subscribers import build_router
from shared.events import WORKFLOW, Actor, Event, PublicUpdatePosted, TicketOpened, TicketTriaged
from shared.kafka import DeadLetterPolicy, create_broker
from shared.mongo import Document
from shared.settings import Environment
from shared.topics import TICKET_EVENTS
from shared.vocabulary import Channel, DeliveryStatus, Priority, Role, Team, notification_id
from tests.service.fakes import (
    NOW,
    FakeCustomerDirectory,
    FakeNotificationStore,
    FixedClock,
    RecordedDeliveryEvents,
    ticket_details,
)

SETTINGS = NotifierSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
TICKET_ID = "TCK-0123456789ABCDEF"
WITH_WEBHOOK = {
    "_id": "acme-telecom",
    "name": "ACME Telecom",
    "contacts": [
        {
            "contact_id": "noc",
            "name": "Network operations",
            "webhook": {"url": "https://hooks.acme.example/switchboard", "secret": "s" * 32},
        }
    ],
}
WITHOUT_WEBHOOK = {
    "_id": "globex",
    "name": "Globex",
    "contacts": [{"contact_id": "desk", "name": "Front desk"}],
}
MULTILINGUAL = {
    "_id": "iberia-calls",
    "name": "Iberia Calls",
    "contacts": [
        {"contact_id": "ana", "name": "Ana", "language": "es", "email": "ana@iberia.example"},
        {
            "contact_id": "luc",
            "name": "Luc",
            "language": "fr",
            "phone": "+33612345678",
            "in_app": False,
            "webhook": {"url": "https://luc.example/hook", "secret": "l" * 32},
        },
    ],
}


def opened(customer_id: str = "acme-telecom") -> TicketOpened:
    return TicketOpened(
        event_id="event-opened-1",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id=customer_id,
        actor=Actor(role=Role.SYSTEM, name="crm"),
        details=ticket_details(customer_id=customer_id),
    )


def triaged() -> TicketTriaged:
    return TicketTriaged(
        event_id="event-triaged-1",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=WORKFLOW,
        team=Team.LEVEL_2,
        priority=Priority.P2,
        tier="level_2",
    )


def build_notifier(
    store: FakeNotificationStore,
    *customers: Document,
    clock: FixedClock | None = None,
    email_hold_s: float = 0.0,
) -> KafkaBroker:
    broker = create_broker(
        SETTINGS,
        client_id="switchboard-notifier",
        dead_letter=DeadLetterPolicy(SETTINGS.notifier_group, backoff_s=0),
    )
    directory = FakeCustomerDirectory(*customers)
    clock = clock or FixedClock(NOW)
    worker = DeliveryWorker(store, directory, {}, clock, SETTINGS, RecordedDeliveryEvents())
    notifications = TicketNotifications(store, directory, worker, clock, email_hold_s)
    broker.include_router(build_router(notifications, SETTINGS.notifier_group))
    return broker


async def publish(broker: KafkaBroker, event: Event) -> None:
    await broker.publish(event, TICKET_EVENTS.name, key=event.ticket_id.encode())


async def test_an_opened_ticket_is_told_in_app_and_by_webhook_when_the_customer_has_one() -> None:
    store = FakeNotificationStore()
    event = opened()

    async with TestKafkaBroker(build_notifier(store, WITH_WEBHOOK)) as broker:
        await publish(broker, event)

    in_app = store.documents[notification_id(event.event_id, "acme-telecom/account", "in_app")]
    webhook = store.documents[notification_id(event.event_id, "acme-telecom/noc", "webhook")]
    assert len(store.documents) == 2
    # In-app is delivered by being stored; the webhook waits for the delivery worker.
    assert (in_app["status"], in_app["delivered_at"]) == (DeliveryStatus.DELIVERED, NOW)
    assert (webhook["status"], webhook["next_attempt_at"]) == (DeliveryStatus.PENDING, NOW)
    for notification in (in_app, webhook):
        assert notification["ticket_id"] == TICKET_ID
        assert notification["event_type"] == "TicketOpened"
        assert TICKET_ID in notification["subject"]
        assert event.details.summary in notification["body"]


async def test_a_customer_without_a_webhook_is_told_in_app_only() -> None:
    store = FakeNotificationStore()

    async with TestKafkaBroker(build_notifier(store, WITHOUT_WEBHOOK)) as broker:
        await publish(broker, opened("globex"))

    assert [n["channel"] for n in store.documents.values()] == [Channel.IN_APP]


async def test_an_internal_step_tells_the_customer_nothing() -> None:
    store = FakeNotificationStore()

    async with TestKafkaBroker(build_notifier(store, WITH_WEBHOOK)) as broker:
        await publish(broker, triaged())

    assert store.documents == {}


async def test_a_redelivered_event_stores_no_second_notification() -> None:
    store = FakeNotificationStore()
    event = opened()

    async with TestKafkaBroker(build_notifier(store, WITH_WEBHOOK)) as broker:
        await publish(broker, event)
        first = {i: dict(n) for i, n in store.documents.items()}
        await publish(broker, event)

    assert store.documents == first


async def test_each_contact_is_told_in_their_language_on_the_channels_they_accept() -> None:
    store = FakeNotificationStore()

    async with TestKafkaBroker(build_notifier(store, MULTILINGUAL)) as broker:
        await publish(broker, opened("iberia-calls"))

    told = {(n["contact_id"], n["channel"], n["language"]) for n in store.documents.values()}
    # SMS is kept for outages; the account's in-app feed speaks its first contact's language.
    assert told == {
        ("account", "in_app", "es"),
        ("ana", "email", "es"),
        ("luc", "webhook", "fr"),
    }
    by_language = {n["language"]: n["subject"] for n in store.documents.values()}
    assert len(set(by_language.values())) == 2
    email = next(n for n in store.documents.values() if n["channel"] == "email")
    assert email["address"] == "ana@iberia.example"


async def test_a_customer_missing_from_the_directory_is_still_told_in_app() -> None:
    store = FakeNotificationStore()

    async with TestKafkaBroker(build_notifier(store)) as broker:
        await publish(broker, opened("nobody-we-know"))

    assert [(n["contact_id"], n["channel"]) for n in store.documents.values()] == [
        ("account", "in_app")
    ]


def progress(event_id: str, message: str) -> PublicUpdatePosted:
    return PublicUpdatePosted(
        event_id=event_id,
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="iberia-calls",
        actor=Actor(role=Role.AGENT, name="ana"),
        message=message,
    )


def emails_to_ana(store: FakeNotificationStore) -> list[Document]:
    return [
        n for n in store.documents.values() if (n["contact_id"], n["channel"]) == ("ana", "email")
    ]


async def test_a_burst_of_news_about_one_ticket_becomes_one_email() -> None:
    store, clock = FakeNotificationStore(), FixedClock(NOW)
    notifier = build_notifier(store, MULTILINGUAL, clock=clock, email_hold_s=30)

    async with TestKafkaBroker(notifier) as broker:
        await publish(broker, opened("iberia-calls"))
        for number in range(1, 4):
            clock.advance(5)
            await publish(broker, progress(f"e-update-{number}", f"Update number {number}"))

    [held] = [n for n in emails_to_ana(store) if n["status"] == DeliveryStatus.PENDING]
    collapsed = [n for n in emails_to_ana(store) if n["status"] == DeliveryStatus.COLLAPSED]
    assert held["next_attempt_at"] == NOW + timedelta(seconds=30)
    assert {n["collapsed_into"] for n in collapsed} == {held["_id"]}
    assert len(collapsed) == 3
    message = email_message(held, "support@switchboard.example", "ana@iberia.example")
    body = message.get_content()
    assert [f"Update number {n}" in body for n in range(1, 4)] == [True] * 3
    assert held["subject"] in body
    # The webhook, a machine's channel, still gets every step on its own.
    webhooks = [n for n in store.documents.values() if n["channel"] == "webhook"]
    assert {n["status"] for n in webhooks} == {DeliveryStatus.PENDING}
    assert len(webhooks) == 4


async def test_news_after_the_held_email_went_out_starts_a_new_one() -> None:
    store, clock = FakeNotificationStore(), FixedClock(NOW)
    notifier = build_notifier(store, MULTILINGUAL, clock=clock, email_hold_s=30)

    async with TestKafkaBroker(notifier) as broker:
        await publish(broker, opened("iberia-calls"))
        clock.advance(31)
        while await store.lease_due(clock(), timedelta(seconds=30)) is not None:
            pass  # the worker takes everything due, the held email among it
        clock.advance(1)
        await publish(broker, progress("e-late", "Late news"))

    assert [n["status"] for n in emails_to_ana(store)] == [DeliveryStatus.PENDING] * 2
    assert all("digest" not in n for n in emails_to_ana(store))


async def test_without_a_hold_every_email_goes_out_on_its_own() -> None:
    store = FakeNotificationStore()

    async with TestKafkaBroker(build_notifier(store, MULTILINGUAL)) as broker:
        await publish(broker, opened("iberia-calls"))
        await publish(broker, progress("e-update", "An update"))

    assert [n["status"] for n in emails_to_ana(store)] == [DeliveryStatus.PENDING] * 2
