"""The workflow's command handler on an in-memory broker: store, publish, dead-letter."""

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pymongo.errors import AutoReconnect

from services.workflow.domain.rules import parse_rules
from services.workflow.domain.tickets import open_ticket
from services.workflow.outbox import Outbox
from services.workflow.settings import DEFAULT_RULES
from services.workflow.store import _document
from services.workflow.subscribers import build_router
from services.workflow.tickets import TicketCommands
from shared.errors import UnprocessableMessage
from shared.events import OpenTicket, ticket_event_adapter
from shared.kafka import DeadLetterPolicy, create_broker
from shared.settings import Environment, ServiceSettings
from shared.topics import DEAD_LETTER, TICKET_COMMANDS, TICKET_EVENTS, DeadLetterHeader
from shared.vocabulary import Category, TicketStatus
from tests.service.fakes import (
    NOW,
    FailingTicketStore,
    FakeTicketStore,
    FixedClock,
    open_ticket_command,
    ticket_details,
)

GROUP = "switchboard-workflow"
RULES = parse_rules(DEFAULT_RULES.read_text())


@dataclass(frozen=True)
class Received:
    key: bytes | None
    headers: dict[str, Any]
    body: bytes


@dataclass
class Workflow:
    """The workflow wired as in production, on a fake store, with an operator listening."""

    broker: KafkaBroker
    store: FakeTicketStore
    events: list[Received] = field(default_factory=list)
    dead_letters: list[Received] = field(default_factory=list)

    def event_types(self) -> list[str]:
        return [ticket_event_adapter.validate_json(e.body).type for e in self.events]


def build_workflow(store: FakeTicketStore | None = None, attempts: int = 3) -> Workflow:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    policy = DeadLetterPolicy(GROUP, attempts=attempts, backoff_s=0)
    broker = create_broker(settings, client_id="switchboard-workflow", dead_letter=policy)
    workflow = Workflow(broker, store or FakeTicketStore())
    outbox = Outbox(workflow.store, broker.publisher(TICKET_EVENTS.name))
    commands = TicketCommands(workflow.store, outbox, RULES, FixedClock())
    broker.include_router(build_router(commands, GROUP))

    @broker.subscriber(TICKET_EVENTS.name, group_id="operator")
    async def watch_events(body: Any, message: KafkaMessage) -> None:
        workflow.events.append(received(message))

    @broker.subscriber(DEAD_LETTER.name, group_id="operator")
    async def watch_dead_letters(body: Any, message: KafkaMessage) -> None:
        workflow.dead_letters.append(received(message))

    return workflow


def received(message: KafkaMessage) -> Received:
    record = message.raw_message
    assert isinstance(record, ConsumerRecord)
    return Received(record.key, dict(message.headers), message.body)


async def send(broker: KafkaBroker, command: OpenTicket | dict[str, Any]) -> None:
    key = command.ticket_id if isinstance(command, OpenTicket) else command["ticket_id"]
    await broker.publish(command, TICKET_COMMANDS.name, key=key.encode())


async def test_an_opened_ticket_is_stored_triaged() -> None:
    workflow = build_workflow()
    command = open_ticket_command(details=ticket_details(category=Category.NUMBER_PORTING))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    stored = workflow.store.documents[command.ticket_id]
    assert stored["status"] == TicketStatus.TRIAGED
    assert (stored["team"], stored["priority"]) == ("numbering", "p3")
    assert stored["created_at"] == NOW
    assert stored["outbox_pending"] == []


async def test_its_events_are_published_in_order_keyed_by_ticket() -> None:
    workflow = build_workflow()
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    stored = workflow.store.documents[command.ticket_id]
    assert workflow.event_types() == ["TicketOpened", "TicketTriaged"]
    assert [json.loads(e.body) for e in workflow.events] == stored["events"]
    assert {e.key for e in workflow.events} == {command.ticket_id.encode()}
    assert [e.headers["event-type"] for e in workflow.events] == workflow.event_types()


async def test_a_redelivered_command_stores_and_publishes_nothing_new() -> None:
    workflow = build_workflow()
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)
        before = dict(workflow.store.documents[command.ticket_id])
        await send(broker, command)

    assert workflow.store.created == 1
    assert workflow.store.documents[command.ticket_id] == before
    assert workflow.event_types() == ["TicketOpened", "TicketTriaged"]


async def test_a_redelivered_command_finishes_publishing_what_a_crash_left_pending() -> None:
    command = open_ticket_command()
    store = FakeTicketStore()
    # Saved, then the process died before Kafka acknowledged the events.
    store.documents[command.ticket_id] = _document(open_ticket(command, NOW, RULES))
    workflow = build_workflow(store)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    assert store.created == 0
    assert workflow.event_types() == ["TicketOpened", "TicketTriaged"]
    assert store.documents[command.ticket_id]["outbox_pending"] == []


async def test_a_ticket_id_reused_by_another_request_leaves_the_ticket_as_it_was() -> None:
    workflow = build_workflow()
    first = open_ticket_command()
    other = open_ticket_command(
        details=ticket_details(category=Category.SERVICE_OUTAGE), request_hash="b" * 64
    )

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, first)
        await send(broker, other)

    stored = workflow.store.documents[first.ticket_id]
    assert stored["request_hash"] == first.request_hash
    assert stored["category"] == Category.CALL_QUALITY
    assert len(workflow.events) == 2


async def test_a_malformed_command_goes_to_the_dead_letter_topic_naming_the_field() -> None:
    workflow = build_workflow()
    malformed = open_ticket_command().model_dump(mode="json")
    del malformed["details"]["summary"]

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, malformed)

    (dead,) = workflow.dead_letters
    assert "details.summary: Field required" in dead.headers[DeadLetterHeader.ERROR]
    assert json.loads(dead.body) == malformed
    assert dead.key == malformed["ticket_id"].encode()
    assert dead.headers[DeadLetterHeader.SOURCE_TOPIC] == TICKET_COMMANDS.name
    assert dead.headers[DeadLetterHeader.CONSUMER_GROUP] == GROUP
    assert dead.headers[DeadLetterHeader.ATTEMPTS] == "1"
    assert workflow.store.documents == {}
    assert workflow.events == []


async def test_the_next_good_command_is_processed_after_a_dead_letter() -> None:
    workflow = build_workflow()
    malformed = {**open_ticket_command().model_dump(mode="json"), "ticket_id": "TCK-nope"}
    good = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, malformed)
        await send(broker, good)

    assert len(workflow.dead_letters) == 1
    assert list(workflow.store.documents) == [good.ticket_id]
    assert workflow.event_types() == ["TicketOpened", "TicketTriaged"]


async def test_a_command_the_domain_refuses_is_dead_lettered_without_retrying() -> None:
    store = FailingTicketStore(UnprocessableMessage("no such customer"))
    workflow = build_workflow(store, attempts=3)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())

    (dead,) = workflow.dead_letters
    assert dead.headers[DeadLetterHeader.ERROR] == "UnprocessableMessage: no such customer"
    assert dead.headers[DeadLetterHeader.ATTEMPTS] == "1"
    assert store.reads == 1


async def test_an_unexpected_failure_is_retried_in_place_and_then_succeeds() -> None:
    store = FailingTicketStore(RuntimeError("hiccup"), RuntimeError("hiccup"))
    workflow = build_workflow(store, attempts=3)
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    assert workflow.dead_letters == []
    assert store.reads == 3
    assert command.ticket_id in store.documents
    assert workflow.event_types() == ["TicketOpened", "TicketTriaged"]


async def test_an_unexpected_failure_that_persists_is_dead_lettered_after_bounded_tries() -> None:
    store = FailingTicketStore(*(RuntimeError("still broken") for _ in range(5)))
    workflow = build_workflow(store, attempts=3)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())

    (dead,) = workflow.dead_letters
    assert dead.headers[DeadLetterHeader.ERROR] == "RuntimeError: still broken"
    assert dead.headers[DeadLetterHeader.ATTEMPTS] == "3"
    assert store.reads == 3
    assert store.documents == {}


async def test_a_database_outage_is_never_dead_lettered_so_kafka_redelivers() -> None:
    store = FailingTicketStore(AutoReconnect("mongo is down"))
    workflow = build_workflow(store, attempts=3)
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        with pytest.raises(AutoReconnect):
            await send(broker, command)
        await send(broker, command)  # Kafka's redelivery, once the database is back

    assert workflow.dead_letters == []
    assert store.reads == 2
    assert command.ticket_id in store.documents
