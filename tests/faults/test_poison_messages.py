"""A poison message — not JSON at all, or JSON of the wrong shape — on every topic a service
consumes goes to the dead-letter topic with its error and origin, and the partition moves on:
the good messages on either side of it, taken in the same batch, are processed."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from infra.services import Platform
from infra.stack import LocalStack
from services.intake.customers.directory import customer_document
from shared.customers import Contact, Customer, Language
from shared.deliveries import NotificationDelivered
from shared.events import Actor, OpenTicket, TicketDetails, TicketOpened
from shared.incidents import (
    BroadcastChunk,
    BroadcastRecipient,
    DeclareIncident,
    IncidentDeclared,
    IncidentScope,
    Severity,
)
from shared.mongo import Collections, Database
from shared.topics import (
    DEAD_LETTER,
    INCIDENT_BROADCASTS,
    INCIDENT_COMMANDS,
    INCIDENT_EVENTS,
    NOTIFICATION_EVENTS,
    TICKET_COMMANDS,
    TICKET_EVENTS,
    DeadLetterHeader,
    Topic,
)
from shared.vocabulary import Category, Channel, Role
from tests.e2e.support import records_with_key, until

pytestmark = pytest.mark.faults

NOT_JSON = b'{"type": "OpenTicket", "ticket_id": '
WRONG_SHAPE = b'{"type": "Nonsense", "schema_version": 1, "payload": [1, 2, 3]}'
PARTITION = 0
SYSTEM = Actor(role=Role.SYSTEM, name="faults")
HASH = "0" * 64


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"


@dataclass(frozen=True)
class Sandwich:
    """Two good messages with the two poison ones between them; how to see a good one done."""

    topic: Topic
    consumer_group: str  # the dead-letter policy's
    good: tuple[BaseModel, BaseModel]
    processed: Callable[[Database, BaseModel], Awaitable[bool]]


def open_ticket(customer_id: str) -> OpenTicket:
    details = TicketDetails(
        customer_id=customer_id,
        category=Category.NUMBER_PORTING,
        summary="Port request stuck",
        reporting_system="faults",
    )
    return OpenTicket(
        command_id=str(uuid.uuid4()),
        issued_at=datetime.now(UTC),
        issued_by=SYSTEM,
        ticket_id=unique("TCK"),
        details=details,
        request_hash=HASH,
    )


def declare_incident(scope: IncidentScope) -> DeclareIncident:
    return DeclareIncident(
        command_id=str(uuid.uuid4()),
        issued_at=datetime.now(UTC),
        issued_by=SYSTEM,
        incident_id=unique("INC"),
        title="Poison test outage",
        severity=Severity.MINOR,
        scope=scope,
        message="Nothing is really down.",
        request_hash=HASH,
    )


def incident_declared(customer_id: str) -> IncidentDeclared:
    return IncidentDeclared(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        incident_id=unique("INC"),
        actor=SYSTEM,
        title="Poison test outage",
        severity=Severity.MINOR,
        scope=IncidentScope(customer_ids=(customer_id,)),
        message="Nothing is really down.",
    )


def ticket_opened(customer_id: str) -> TicketOpened:
    command = open_ticket(customer_id)
    return TicketOpened(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        ticket_id=command.ticket_id,
        customer_id=customer_id,
        actor=SYSTEM,
        details=command.details,
    )


def delivered(customer_id: str) -> NotificationDelivered:
    return NotificationDelivered(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        notification_id=unique("NTF"),
        ticket_id=unique("TCK"),
        customer_id=customer_id,
        channel="webhook",
        event_type="TicketOpened",
        attempt=1,
    )


def chunk(customer_id: str) -> BroadcastChunk:
    recipient = BroadcastRecipient(
        customer_id=customer_id, contact_id="ops", channel=Channel.IN_APP, language=Language.EN
    )
    return BroadcastChunk(event=incident_declared(customer_id), chunk=0, recipients=[recipient])


async def ticket_saved(database: Database, message: BaseModel) -> bool:
    assert isinstance(message, OpenTicket)
    found = await database[Collections.TICKETS].count_documents({"_id": message.ticket_id})
    return found == 1


async def incident_saved(database: Database, message: BaseModel) -> bool:
    assert isinstance(message, DeclareIncident)
    found = await database[Collections.INCIDENTS].count_documents({"_id": message.incident_id})
    return found == 1


async def delivery_recorded(database: Database, message: BaseModel) -> bool:
    assert isinstance(message, NotificationDelivered)
    records = database[Collections.TICKET_DELIVERIES]
    return await records.count_documents({"_id": message.event_id}) == 1


async def customer_told(database: Database, message: BaseModel) -> bool:
    if isinstance(message, BroadcastChunk):
        query = {"event_id": message.event.event_id}
    else:
        assert isinstance(message, TicketOpened | IncidentDeclared)
        query = {"event_id": message.event_id}
    return await database[Collections.NOTIFICATIONS].count_documents(query) >= 1


def sandwiches(customer_id: str) -> list[Sandwich]:
    nowhere = IncidentScope(regions=(f"nowhere-{uuid.uuid4().hex[:8]}",))
    workflow, notifier = "switchboard-workflow", "switchboard-notifier"
    return [
        Sandwich(
            TICKET_COMMANDS,
            workflow,
            (open_ticket(customer_id), open_ticket(customer_id)),
            ticket_saved,
        ),
        Sandwich(
            INCIDENT_COMMANDS,
            workflow,
            (declare_incident(nowhere), declare_incident(nowhere)),
            incident_saved,
        ),
        Sandwich(
            NOTIFICATION_EVENTS,
            workflow,
            (delivered(customer_id), delivered(customer_id)),
            delivery_recorded,
        ),
        Sandwich(
            TICKET_EVENTS,
            notifier,
            (ticket_opened(customer_id), ticket_opened(customer_id)),
            customer_told,
        ),
        Sandwich(
            INCIDENT_EVENTS,
            notifier,
            (incident_declared(customer_id), incident_declared(customer_id)),
            customer_told,
        ),
        Sandwich(
            INCIDENT_BROADCASTS,
            notifier,
            (chunk(customer_id), chunk(customer_id)),
            customer_told,
        ),
    ]


async def publish_in_one_batch(producer: AIOKafkaProducer, sandwich: Sandwich) -> list[int]:
    """good, not JSON, wrong shape, good: one produce batch, so one fetch takes all four."""
    first, last = (message.model_dump_json().encode() for message in sandwich.good)
    values = [first, NOT_JSON, WRONG_SHAPE, last]
    sent = [
        await producer.send(sandwich.topic.name, value, key=b"poison", partition=PARTITION)
        for value in values
    ]
    return [(await future).offset for future in sent]


async def test_poison_messages_are_dead_lettered_and_the_good_ones_around_them_processed(
    stack: LocalStack, platform: Platform, database: Database
) -> None:
    customer_id = f"poison-{uuid.uuid4().hex[:8]}"
    contact = Contact(contact_id="ops", name="Operations", in_app=True)
    customer = Customer(customer_id=customer_id, name="Poison", contacts=[contact])
    await database[Collections.CUSTOMERS].insert_one(customer_document(customer))
    cases = sandwiches(customer_id)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=50)
    await producer.start()
    try:
        offsets = {case.topic.name: await publish_in_one_batch(producer, case) for case in cases}
    finally:
        await producer.stop()

    for case in cases:
        for good in case.good:
            await processed(database, case, good)
    dead = await dead_letters_of(stack.kafka_bootstrap, offsets)
    for case in cases:
        sent = offsets[case.topic.name]
        found = dead.get(case.topic.name, {})
        assert sorted(found) == [sent[1], sent[2]], (case.topic.name, sorted(found))
        for offset, (value, headers) in found.items():
            assert value == (NOT_JSON if offset == sent[1] else WRONG_SHAPE)
            assert headers[DeadLetterHeader.ERROR]
            assert headers[DeadLetterHeader.SOURCE_PARTITION] == str(PARTITION)
            assert headers[DeadLetterHeader.CONSUMER_GROUP] == case.consumer_group
            assert int(headers[DeadLetterHeader.ATTEMPTS]) >= 1


async def processed(database: Database, case: Sandwich, good: BaseModel) -> None:
    async def done() -> bool:
        return await case.processed(database, good)

    await until(done, f"the good messages around the poison on {case.topic.name}", within_s=60)


DeadLetters = dict[str, dict[int, tuple[bytes, dict[str, str]]]]


async def dead_letters_of(bootstrap: str, offsets: dict[str, list[int]]) -> DeadLetters:
    """The dead letters of the messages sent, by source topic and offset; waits for them all."""
    expected = 2 * len(offsets)

    async def all_there() -> DeadLetters | None:
        found: DeadLetters = {}
        for record in await records_with_key(bootstrap, DEAD_LETTER, "poison"):
            headers = {name: value.decode() for name, value in record.headers}
            topic = headers[DeadLetterHeader.SOURCE_TOPIC]
            offset = int(headers[DeadLetterHeader.SOURCE_OFFSET])
            if offset in offsets.get(topic, []):
                found.setdefault(topic, {})[offset] = (record.value, headers)
        return found if sum(len(v) for v in found.values()) >= expected else None

    return await until(all_there, "every poison message dead-lettered", within_s=60)
