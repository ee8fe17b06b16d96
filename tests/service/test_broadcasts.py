"""Outage broadcasts on an in-memory broker: every affected customer is told, once."""

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.notifier.broadcasts.deliveries import BroadcastContacts, BroadcastDeliveries
from services.notifier.broadcasts.plans import BroadcastPlanner, KafkaChunkQueue
from services.notifier.broadcasts.store import chunk_key
from services.notifier.channels.base import DeliveryResult
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.delivery_events import (
    DeliveryEventPublisher,
    KafkaDeliveryEvents,
)
from services.notifier.settings import NotifierSettings
from services.notifier.subscribers import build_broadcast_router
from shared.customers import Contact
from shared.deliveries import NotificationEvent
from shared.events import WORKFLOW
from shared.incidents import (
    AnyIncidentEvent,
    BroadcastChunk,
    IncidentDeclared,
    IncidentResolved,
    IncidentScope,
    Severity,
)
from shared.kafka import DeadLetterPolicy, create_broker
from shared.mongo import Document
from shared.producers import DirectPublisher
from shared.settings import Environment
from shared.topics import INCIDENT_BROADCASTS, INCIDENT_EVENTS, NOTIFICATION_EVENTS
from shared.vocabulary import Channel, DeliveryStatus, notification_id
from tests.service.fakes import (
    NOW,
    FakeBroadcastStore,
    FakeChannel,
    FakeCustomerDirectory,
    FakeNotificationStore,
    FixedClock,
    RecordedDeliveryEvents,
)

SETTINGS = NotifierSettings(
    environment=Environment.TEST,
    kafka_bootstrap="127.0.0.1:1",
    broadcast_chunk_size=2,
    broadcast_concurrency=2,
    broadcast_unrecorded_max=4,
    broadcast_lease_s=30.0,
    delivery_backoff_s=10.0,
)
INCIDENT_ID = "INC-0123456789ABCDEF"
SERVER_ERROR = DeliveryResult(delivered=False, status_code=503, error="HTTP 503")
REJECTED = DeliveryResult(delivered=False, status_code=410, error="HTTP 410", retryable=False)


def customer(customer_id: str, **services: Any) -> Document:
    return {
        "_id": customer_id,
        "name": customer_id.title(),
        "contacts": [
            {
                "contact_id": "noc",
                "name": "Network operations",
                "language": "es",
                "email": f"noc@{customer_id}.example",
                "phone": "+34911234567",
                "webhook": {"url": f"https://{customer_id}.example/hook", "secret": "s" * 32},
            }
        ],
        "services": services,
    }


MADRID = customer("iberia-calls", regions=["eu-south"], number_ranges=["+3491"])
BARCELONA = customer("costa-voip", regions=["eu-south"], number_ranges=["+3493"])
PARIS = customer("paris-tel", regions=["eu-west"], number_ranges=["+331"])
NEW_YORK = customer("big-apple", regions=["us-east"], products=["sip-trunk"])
EVERYONE = (MADRID, BARCELONA, PARIS, NEW_YORK)


def declared(scope: IncidentScope, event_id: str = "event-declared-1") -> IncidentDeclared:
    return IncidentDeclared(
        event_id=event_id,
        occurred_at=NOW,
        incident_id=INCIDENT_ID,
        actor=WORKFLOW,
        title="Calls fail on carrier route 7",
        severity=Severity.CRITICAL,
        scope=scope,
        message="We are moving calls to another carrier route.",
    )


class Notifier:
    """The broadcast side of the notifier over in-memory stores and recording channels."""

    def __init__(self, *customers: Document, broadcasts: FakeBroadcastStore | None = None) -> None:
        self.store = FakeNotificationStore()
        self.broadcasts = broadcasts or FakeBroadcastStore()
        self.directory = FakeCustomerDirectory(*customers)
        self.clock = FixedClock(NOW)
        self.events = RecordedDeliveryEvents()
        self.channels = {
            channel.value: FakeChannel()
            for channel in (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)
        }
        self.worker = DeliveryWorker(
            self.store,
            self.directory,
            self.channels,
            self.clock,
            SETTINGS,
            self.events,
            settled=self.broadcasts,
        )
        self.deliveries = self.chunk_handler()

    def chunk_handler(
        self, sleep: Any = asyncio.sleep, events: DeliveryEventPublisher | None = None
    ) -> BroadcastDeliveries:
        """Another instance's chunk handler, sharing the stores and the channels."""
        contacts = BroadcastContacts(self.directory, self.clock, ttl_s=300)
        return BroadcastDeliveries(
            self.store,
            self.broadcasts,
            contacts,
            self.worker,
            events or self.events,
            self.clock,
            SETTINGS,
            sleep=sleep,
        )

    def broker(self) -> KafkaBroker:
        broker = create_broker(
            SETTINGS,
            client_id="switchboard-notifier",
            dead_letter=DeadLetterPolicy(SETTINGS.notifier_group, backoff_s=0),
        )
        queue = KafkaChunkQueue(broker.publisher(INCIDENT_BROADCASTS.name))
        planner = BroadcastPlanner(
            self.directory, self.broadcasts, queue, self.clock, SETTINGS.broadcast_chunk_size
        )
        broker.include_router(
            build_broadcast_router(planner, self.deliveries, SETTINGS.notifier_group)
        )
        return broker

    async def broadcast(self, event: AnyIncidentEvent) -> None:
        async with TestKafkaBroker(self.broker()) as broker:
            await broker.publish(event, INCIDENT_EVENTS.name, key=event.incident_id.encode())

    def told(self) -> set[tuple[str, str]]:
        return {(n["customer_id"], n["channel"]) for n in self.store.documents.values()}

    def handed_over(self) -> Counter[str]:
        return Counter(
            notification["_id"]
            for channel in self.channels.values()
            for notification, _ in channel.deliveries
        )


async def test_an_outage_in_a_region_tells_every_customer_there_and_nobody_else() -> None:
    notifier = Notifier(*EVERYONE)

    await notifier.broadcast(declared(IncidentScope(regions=("eu-south",))))

    assert {customer_id for customer_id, _ in notifier.told()} == {"iberia-calls", "costa-voip"}
    assert notifier.told() == {
        (customer_id, channel.value)
        for customer_id in ("iberia-calls", "costa-voip")
        for channel in Channel
    }


@pytest.mark.parametrize(
    ("scope", "affected"),
    [
        (IncidentScope(customer_ids=("paris-tel",)), {"paris-tel"}),
        (IncidentScope(number_ranges=("+34",)), {"iberia-calls", "costa-voip"}),
        (IncidentScope(number_ranges=("+349112",)), {"iberia-calls"}),
        (
            IncidentScope(products=("sip-trunk",), customer_ids=("paris-tel",)),
            {"big-apple", "paris-tel"},
        ),
    ],
    ids=["named", "wide-number-range", "narrow-number-range", "product-or-named"],
)
async def test_an_outage_tells_exactly_the_customers_its_scope_covers(
    scope: IncidentScope, affected: set[str]
) -> None:
    notifier = Notifier(*EVERYONE)

    await notifier.broadcast(declared(scope))

    assert {customer_id for customer_id, _ in notifier.told()} == affected


async def test_every_contact_is_told_once_per_channel_in_their_language_and_handed_over() -> None:
    notifier = Notifier(MADRID)
    event = declared(IncidentScope(regions=("eu-south",)))

    await notifier.broadcast(event)

    documents = notifier.store.documents
    expected = {
        notification_id(event.event_id, "iberia-calls/account", "in_app"),
        *(
            notification_id(event.event_id, "iberia-calls/noc", channel)
            for channel in ("email", "sms", "webhook")
        ),
    }
    assert set(documents) == expected
    assert {d["language"] for d in documents.values()} == {"es"}
    assert {d["status"] for d in documents.values()} == {DeliveryStatus.DELIVERED}
    in_app = notification_id(event.event_id, "iberia-calls/account", "in_app")
    assert notifier.handed_over() == Counter(expected - {in_app})  # in-app needs no channel
    email = next(d for d in documents.values() if d["channel"] == "email")
    assert (email["ticket_id"], email["incident_id"], email["kind"]) == (
        None,
        INCIDENT_ID,
        "outage",
    )
    assert (email["attempts"], email["events_owed"]) == (1, False)


async def test_the_in_app_record_is_stored_as_delivered_without_a_channel() -> None:
    notifier = Notifier(MADRID)

    await notifier.broadcast(declared(IncidentScope(regions=("eu-south",))))

    [in_app] = [d for d in notifier.store.documents.values() if d["channel"] == "in_app"]
    assert (in_app["status"], in_app["delivered_at"], in_app["attempts"]) == (
        DeliveryStatus.DELIVERED,
        NOW,
        0,
    )
    assert in_app["_id"] not in notifier.handed_over()


async def test_the_plan_records_the_reach_of_each_incident_event() -> None:
    notifier = Notifier(*EVERYONE)
    event = declared(IncidentScope(regions=("eu-south", "eu-west")))

    await notifier.broadcast(event)

    assert notifier.broadcasts.plans[event.event_id] == {
        "_id": event.event_id,
        "incident_id": INCIDENT_ID,
        "event_type": "IncidentDeclared",
        "affected_customers": 3,
        "recipients": 12,
        "chunks": 2,  # two customers a chunk
        "planned_at": NOW,
    }
    assert set(notifier.broadcasts.chunks) == {f"{event.event_id}:0", f"{event.event_id}:1"}


async def test_an_incident_event_delivered_again_after_its_plan_queues_nothing() -> None:
    notifier = Notifier(*EVERYONE)
    event = declared(IncidentScope(regions=("eu-south",)))
    await notifier.broadcast(event)
    finds = notifier.directory.customers.finds

    await notifier.broadcast(event)

    assert notifier.directory.customers.finds == finds  # not even planned again
    assert set(notifier.handed_over().values()) == {1}


async def test_a_chunk_delivered_again_stores_nothing_twice_and_delivers_nothing_twice() -> None:
    notifier = Notifier(*EVERYONE)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    await notifier.deliveries.on_chunk(chunk)
    stored = {i: dict(d) for i, d in notifier.store.documents.items()}
    published = len(notifier.events.published)

    attempted = await notifier.deliveries.on_chunk(chunk)
    again = await notifier.chunk_handler().on_chunk(chunk)  # another instance gets it too

    assert (attempted, again) == (0, 0)
    assert notifier.store.documents == stored
    assert set(notifier.handed_over().values()) == {1}
    assert len(notifier.events.published) == published


async def test_a_chunk_taken_over_after_a_crash_delivers_only_what_was_left() -> None:
    many = [customer(f"customer-{n:02d}", regions=["eu-south"]) for n in range(2)]
    notifier = Notifier(*many)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    stuck = StuckAfter(3)  # answers three deliveries, then goes quiet
    notifier.channels.update({name: stuck for name in notifier.channels})
    notifier.broadcasts = broadcasts = FlushWatchingStore(wanted=3)
    crashed = asyncio.create_task(notifier.chunk_handler().on_chunk(chunk))
    await broadcasts.flushed.wait()  # what was answered is recorded
    await stuck.all_stuck.wait()  # every slot busy with a receiver that went quiet
    crashed.cancel()  # the instance dies mid-chunk
    progress = broadcasts.chunks
    key = chunk_key(chunk.event.event_id, chunk.chunk)
    stored_before = set(progress[key]["stored"])
    notifier.channels.update({name: FakeChannel() for name in notifier.channels})
    notifier.clock.advance(SETTINGS.broadcast_lease_s + 1)  # its claim runs out

    await notifier.chunk_handler().on_chunk(chunk)

    handed = notifier.handed_over() + Counter(n["_id"] for n, _ in stuck.deliveries)
    twice = {i for i, count in handed.items() if count > 1}
    outgoing = {i for i, d in notifier.store.documents.items() if d["channel"] != "in_app"}
    assert len(notifier.store.documents) == 2 * 4
    assert set(handed) == outgoing
    assert len(stored_before) == 3
    assert twice == stuck.in_flight  # only what was in flight when it died
    assert len(twice) == SETTINGS.broadcast_concurrency
    assert not twice & stored_before
    assert progress[key]["completed_at"] is not None


async def test_no_more_deliveries_than_permitted_go_out_while_outcomes_are_unrecorded() -> None:
    many = [customer(f"customer-{n:02d}", regions=["eu-south"]) for n in range(3)]
    notifier = Notifier(*many)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    notifier.broadcasts = StalledRecording()
    stalled = asyncio.create_task(notifier.chunk_handler().on_chunk(chunk))

    for _ in range(100):  # let it run as far as it can
        await asyncio.sleep(0.01)
    stalled.cancel()

    # Delivered but never recorded: all a crash now could repeat, capped by the permits.
    assert sum(notifier.handed_over().values()) == SETTINGS.broadcast_unrecorded_max


async def test_a_live_instance_is_left_to_finish_its_chunk_until_its_claim_runs_out() -> None:
    notifier = Notifier(MADRID)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    key = chunk_key(chunk.event.event_id, chunk.chunk)
    await notifier.broadcasts.start(key, "another-instance", NOW + timedelta(seconds=20), {})
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        notifier.clock.advance(seconds)

    await notifier.chunk_handler(sleep=sleep).on_chunk(chunk)

    assert waited == [20.0]
    assert sum(notifier.handed_over().values()) == 3


async def test_a_failed_delivery_is_stored_for_the_workers_retry() -> None:
    notifier = Notifier(MADRID)
    notifier.channels[Channel.WEBHOOK.value] = FakeChannel(iter([SERVER_ERROR]))
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))

    await notifier.deliveries.on_chunk(chunk)

    [failed] = [d for d in notifier.store.documents.values() if d.get("last_error")]
    assert (failed["status"], failed["attempts"]) == (DeliveryStatus.PENDING, 1)
    assert failed["next_attempt_at"] > NOW
    notifier.clock.now = failed["next_attempt_at"]
    await notifier.worker.deliver_due()
    assert notifier.store.documents[failed["_id"]]["status"] == DeliveryStatus.DELIVERED
    assert notifier.handed_over()[failed["_id"]] == 2


def counted(notifier: Notifier) -> Counter[str]:
    """The counts every chunk kept, summed."""
    total: Counter[str] = Counter()
    for progress in notifier.broadcasts.chunks.values():
        total.update(progress.get("counts", {}))
    return total


def stored_by_status(notifier: Notifier) -> Counter[str]:
    return Counter(str(d["status"]) for d in notifier.store.documents.values())


async def test_the_chunks_count_every_stored_notification_by_status() -> None:
    notifier = Notifier(*EVERYONE)
    notifier.channels[Channel.SMS.value] = FakeChannel(iter([SERVER_ERROR]))  # retried later
    notifier.channels[Channel.EMAIL.value] = FakeChannel(iter([REJECTED]))  # given up

    await notifier.broadcast(declared(IncidentScope(regions=("eu-south", "eu-west"))))

    assert len(notifier.broadcasts.chunks) == 2
    assert +counted(notifier) == stored_by_status(notifier)
    assert counted(notifier)["pending"] == 1
    assert counted(notifier)["failed"] == 1


async def test_a_chunk_delivered_again_counts_nothing_twice() -> None:
    notifier = Notifier(*EVERYONE)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    await notifier.deliveries.on_chunk(chunk)
    before = counted(notifier)

    await notifier.deliveries.on_chunk(chunk)
    await notifier.chunk_handler().on_chunk(chunk)

    assert counted(notifier) == before == stored_by_status(notifier)


async def test_a_retried_notification_moves_from_pending_to_delivered_once() -> None:
    notifier = Notifier(MADRID)
    notifier.channels[Channel.WEBHOOK.value] = FakeChannel(iter([SERVER_ERROR]))
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    await notifier.deliveries.on_chunk(chunk)
    assert counted(notifier)["pending"] == 1
    [failed] = [d for d in notifier.store.documents.values() if d.get("last_error")]
    notifier.clock.now = failed["next_attempt_at"]
    notifier.events.down = True  # the outcome is recorded, its events stay owed

    await notifier.worker.deliver_due()  # delivered; the failure to publish is logged
    notifier.events.down = False
    notifier.clock.advance(SETTINGS.delivery_lease_s + 1)
    await notifier.worker.publish_owed_events()  # the relay counts it again: a no-op

    assert +counted(notifier) == stored_by_status(notifier)
    assert counted(notifier)["pending"] == 0


class DiesBeforeCounting(FakeBroadcastStore):
    """The instance dies once between storing a flush's notifications and counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.died = False

    async def record_stored(
        self,
        chunk_key: str,
        ids: list[str],
        lease_until: datetime,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        if not self.died and ids:
            self.died = True
            raise ConnectionError("the instance died")
        await super().record_stored(chunk_key, ids, lease_until, counts)


@pytest.mark.parametrize("first_attempt", ["answered", "retried, then delivered by the worker"])
async def test_notifications_stored_by_an_instance_that_died_before_counting_are_counted_once(
    first_attempt: str,
) -> None:
    notifier = Notifier(MADRID, broadcasts=DiesBeforeCounting())
    if first_attempt != "answered":
        notifier.channels[Channel.WEBHOOK.value] = FakeChannel(iter([SERVER_ERROR]))
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    with pytest.raises(ConnectionError):
        await notifier.chunk_handler().on_chunk(chunk)
    if first_attempt != "answered":
        [failed] = [d for d in notifier.store.documents.values() if d.get("last_error")]
        notifier.clock.now = failed["next_attempt_at"]
        await notifier.worker.deliver_due()  # settles what the chunk never counted
    notifier.clock.advance(SETTINGS.broadcast_lease_s + 1)  # the dead owner's claim runs out

    await notifier.chunk_handler().on_chunk(chunk)  # another instance takes the chunk over

    assert all(d["status"] == "delivered" for d in notifier.store.documents.values())
    assert +counted(notifier) == stored_by_status(notifier)


async def test_delivery_events_of_a_broadcast_name_the_incident_and_are_keyed_by_it() -> None:
    notifier = Notifier(MADRID)
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))
    broker = create_broker(SETTINGS, client_id="notification-events-reader")
    keys: list[bytes | None] = []

    @broker.subscriber(NOTIFICATION_EVENTS.name, group_id="reader")
    async def read(event: dict[str, Any], message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        keys.append(record.key)

    events = KafkaDeliveryEvents(
        DirectPublisher(broker, broker.publisher(NOTIFICATION_EVENTS.name))
    )
    async with TestKafkaBroker(broker):
        await notifier.chunk_handler(events=events).on_chunk(chunk)

    assert len(keys) == 7
    assert set(keys) == {INCIDENT_ID.encode()}


async def test_delivery_events_carry_the_incident_and_no_ticket() -> None:
    notifier = Notifier(MADRID)

    await notifier.broadcast(declared(IncidentScope(regions=("eu-south",))))

    events: list[NotificationEvent] = notifier.events.published
    assert sorted(Counter(e.type for e in events).items()) == [
        ("NotificationDelivered", 4),
        ("NotificationSent", 3),
    ]
    assert {(e.ticket_id, e.incident_id) for e in events} == {(None, INCIDENT_ID)}


async def test_the_resolution_is_a_new_broadcast_with_its_own_notifications() -> None:
    notifier = Notifier(MADRID)
    scope = IncidentScope(regions=("eu-south",))
    await notifier.broadcast(declared(scope))
    resolved = IncidentResolved(
        event_id="event-resolved-1",
        occurred_at=NOW,
        incident_id=INCIDENT_ID,
        actor=WORKFLOW,
        title="Calls fail on carrier route 7",
        severity=Severity.CRITICAL,
        scope=scope,
        message="Calls are back on route 7.",
    )

    await notifier.broadcast(resolved)

    kinds = Counter(d["kind"] for d in notifier.store.documents.values())
    assert kinds == {"outage": 4, "outage_resolved": 4}


async def first_chunk(notifier: Notifier, event: AnyIncidentEvent) -> BroadcastChunk:
    """The first chunk the planner queues for the event, planned but not yet delivered."""
    queued: list[BroadcastChunk] = []

    class Queue:
        async def publish(self, chunk: BroadcastChunk) -> None:
            queued.append(chunk)

    planner = BroadcastPlanner(notifier.directory, FakeBroadcastStore(), Queue(), notifier.clock, 2)
    await planner.on_incident_event(event)
    return queued[0]


class FlushWatchingStore(FakeBroadcastStore):
    """Tells when `wanted` notifications have been recorded as stored."""

    def __init__(self, wanted: int) -> None:
        super().__init__()
        self.wanted = wanted
        self.recorded = 0
        self.flushed = asyncio.Event()

    async def record_stored(
        self,
        chunk_key: str,
        ids: list[str],
        lease_until: datetime,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        await super().record_stored(chunk_key, ids, lease_until, counts)
        self.recorded += len(ids)
        if self.recorded >= self.wanted:
            self.flushed.set()


class StalledRecording(FakeBroadcastStore):
    """Starts chunks as usual, then never finishes recording what was stored."""

    async def record_stored(
        self,
        chunk_key: str,
        ids: list[str],
        lease_until: datetime,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        if ids:
            await asyncio.Event().wait()


class StuckAfter(FakeChannel):
    """Delivers the first few, then hangs on every later one like a receiver that went quiet."""

    def __init__(self, answered: int) -> None:
        super().__init__()
        self.answered = answered
        self.in_flight: set[str] = set()
        self.all_stuck = asyncio.Event()

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        self.deliveries.append((notification, contact))
        if len(self.deliveries) <= self.answered:
            return DeliveryResult(delivered=True, status_code=204)
        self.in_flight.add(notification["_id"])
        if len(self.in_flight) == SETTINGS.broadcast_concurrency:
            self.all_stuck.set()
        await asyncio.Event().wait()
        raise AssertionError("never answered")


class Slow(FakeChannel):
    """Takes a while to answer, so deliveries settle across several flushes."""

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        await asyncio.sleep(0.1)
        return await super().deliver(notification, contact)


async def test_deliveries_settling_while_a_flush_runs_are_all_stored() -> None:
    many = [customer(f"customer-{n:02d}", regions=["eu-south"]) for n in range(2)]
    notifier = Notifier(*many)
    notifier.channels.update({name: Slow() for name in notifier.channels})
    chunk = await first_chunk(notifier, declared(IncidentScope(regions=("eu-south",))))

    await notifier.deliveries.on_chunk(chunk)

    assert len(notifier.store.documents) == 2 * 4
    assert {d["status"] for d in notifier.store.documents.values()} == {DeliveryStatus.DELIVERED}
    assert len(notifier.events.published) == 2 + 6 * 2


async def test_newcomers_since_the_last_directory_read_cost_one_pass_not_a_lookup_each() -> None:
    notifier = Notifier(*EVERYONE)
    await notifier.broadcast(declared(IncidentScope(regions=("eu-south",))))
    newcomers = [customer(f"newcomer-{n}", regions=["eu-north"]) for n in range(3)]
    notifier.directory.customers.documents |= {c["_id"]: c for c in newcomers}
    notifier.clock.advance(60)  # well within the time the webhook secrets are kept
    later = declared(IncidentScope(regions=("eu-north",)), event_id="event-declared-2")
    finds = notifier.directory.customers.finds

    await notifier.broadcast(later.model_copy(update={"occurred_at": notifier.clock()}))

    webhooks = [
        n
        for n in notifier.store.documents.values()
        if n["channel"] == "webhook" and n["customer_id"].startswith("newcomer")
    ]
    assert [n["status"] for n in webhooks] == [DeliveryStatus.DELIVERED] * 3
    assert notifier.directory.customers.lookups == 0
    assert notifier.directory.customers.finds == finds + 2  # the audience, the secrets again


async def test_a_broadcast_reads_the_directory_in_passes_not_customer_by_customer() -> None:
    notifier = Notifier(*EVERYONE)

    await notifier.broadcast(declared(IncidentScope(regions=("eu-south", "eu-west"))))

    assert sum(notifier.handed_over().values()) == 9
    assert notifier.directory.customers.lookups == 0
    assert notifier.directory.customers.finds == 2  # the audience, then the webhook secrets
