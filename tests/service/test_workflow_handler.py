"""The workflow's command handler on an in-memory broker: store, publish, dead-letter."""

import json

import pytest
from faststream.kafka import TestKafkaBroker
from pymongo.errors import AutoReconnect

from services.workflow.domain.lifecycle import decide
from services.workflow.domain.tickets import event_id_for, open_ticket
from services.workflow.tickets import ATTEMPTS_ON_CONFLICT
from shared.errors import UnprocessableMessage
from shared.events import (
    ChangeStatus,
    RecordDevelopmentProgress,
    ReportNotFixed,
    RequestDevelopment,
)
from shared.topics import TICKET_COMMANDS, DeadLetterHeader
from shared.vocabulary import (
    Category,
    DevelopmentStatus,
    TicketStatus,
    development_ticket_id,
)
from tests.service.fakes import (
    NOW,
    FailingTicketStore,
    FakeTicketStore,
    RacedTicketStore,
    open_ticket_command,
    ticket_details,
)
from tests.service.workflow_wiring import (
    GROUP,
    RULES,
    TICKET_ID,
    agent_command,
    build_workflow,
    send,
    types_of,
)

OPENED = ["TicketOpened", "TicketTriaged"]


def start_investigating(command_id: str = "status:1") -> ChangeStatus:
    return agent_command(ChangeStatus, command_id, status=TicketStatus.INVESTIGATING)


async def test_an_opened_ticket_is_stored_triaged() -> None:
    workflow = build_workflow()
    command = open_ticket_command(details=ticket_details(category=Category.NUMBER_PORTING))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    stored = workflow.store.documents[command.ticket_id]
    assert stored["status"] == TicketStatus.TRIAGED
    assert (stored["team"], stored["priority"], stored["tier"]) == ("numbering", "p3", "level_1")
    assert stored["created_at"] == NOW
    assert stored["next_timer_at"] == stored["clocks"]["first_response_due"]
    assert stored["outbox_pending"] == []


async def test_its_events_are_published_in_order_keyed_by_ticket() -> None:
    workflow = build_workflow()
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    stored = workflow.store.documents[command.ticket_id]
    assert workflow.event_types() == OPENED
    assert [json.loads(e.body) for e in workflow.events] == stored["events"]
    assert {e.key for e in workflow.events} == {command.ticket_id.encode()}
    assert [e.headers["event-type"] for e in workflow.events] == workflow.event_types()


async def test_a_redelivered_open_command_stores_and_publishes_nothing_new() -> None:
    workflow = build_workflow()
    command = open_ticket_command()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)
        before = dict(workflow.store.documents[command.ticket_id])
        await send(broker, command)

    assert workflow.store.saves == 1
    assert workflow.store.documents[command.ticket_id] == before
    assert workflow.event_types() == OPENED


async def test_a_redelivered_command_finishes_publishing_what_a_crash_left_pending() -> None:
    command = open_ticket_command()
    store = FakeTicketStore()
    # Saved, then the process died before Kafka acknowledged the events.
    await store.save(open_ticket(command, NOW, RULES), loaded_version=None)
    workflow = build_workflow(store)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, command)

    assert store.saves == 1
    assert workflow.event_types() == OPENED
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


async def test_a_command_for_an_existing_ticket_is_applied_saved_and_published() -> None:
    workflow = build_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating("status:1"))

    stored = workflow.store.documents[TICKET_ID]
    assert (stored["status"], stored["version"]) == (TicketStatus.INVESTIGATING, 2)
    assert stored["events"][-1]["event_id"] == event_id_for("status:1", 0)
    assert stored["outbox_pending"] == []
    assert workflow.event_types() == [*OPENED, "InvestigationStarted"]
    assert json.loads(workflow.events[-1].body) == stored["events"][-1]


async def test_a_redelivered_command_is_recognised_even_after_the_ticket_moved_on() -> None:
    workflow = build_workflow()
    ask = agent_command(ChangeStatus, "status:2", status=TicketStatus.WAITING_ON_CUSTOMER)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating("status:1"))
        await send(broker, ask)
        # Starting to investigate is allowed again while waiting: only its id tells it apart.
        await send(broker, start_investigating("status:1"))

    stored = workflow.store.documents[TICKET_ID]
    assert stored["status"] == TicketStatus.WAITING_ON_CUSTOMER
    assert workflow.store.saves == 3
    assert workflow.event_types() == [*OPENED, "InvestigationStarted", "CustomerInputRequested"]
    assert workflow.dead_letters == []


async def test_a_redelivered_command_only_publishes_what_a_crash_left_pending() -> None:
    store = FakeTicketStore()
    opened = open_ticket(open_ticket_command(), NOW, RULES)
    await store.save(opened, loaded_version=None)
    await store.save(decide(opened.ticket, start_investigating(), NOW, RULES), loaded_version=1)
    workflow = build_workflow(store)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, start_investigating())

    assert store.saves == 2
    assert workflow.event_types() == [*OPENED, "InvestigationStarted"]
    assert store.documents[TICKET_ID]["outbox_pending"] == []


async def test_a_ticket_changed_meanwhile_is_reloaded_and_decided_again() -> None:
    store = RacedTicketStore(races=1, rules=RULES)
    workflow = build_workflow(store, attempts=1)  # the handler itself must try again

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating())

    stored = store.documents[TICKET_ID]
    assert [e["type"] for e in stored["events"]] == [
        *OPENED,
        "InternalNoteAdded",  # the other instance's write, which ours lost the race to
        "InvestigationStarted",
    ]
    assert (stored["status"], stored["version"]) == (TicketStatus.INVESTIGATING, 3)
    assert store.reads == 1 + 2
    assert workflow.event_types().count("InvestigationStarted") == 1
    assert workflow.dead_letters == []


async def test_a_ticket_that_keeps_changing_is_dead_lettered_after_bounded_tries() -> None:
    store = RacedTicketStore(races=ATTEMPTS_ON_CONFLICT, rules=RULES)
    workflow = build_workflow(store, attempts=1)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating())

    (dead,) = workflow.dead_letters
    assert dead.headers[DeadLetterHeader.ERROR] == f"ConcurrentUpdate: {TICKET_ID}"
    assert store.reads == 1 + ATTEMPTS_ON_CONFLICT
    assert "InvestigationStarted" not in workflow.event_types()


async def test_a_step_the_status_forbids_is_dead_lettered_naming_the_allowed_steps() -> None:
    workflow = build_workflow()
    reopen = agent_command(ReportNotFixed, "reopen:1")

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, reopen)

    (dead,) = workflow.dead_letters
    assert dead.headers[DeadLetterHeader.ERROR] == (
        "IllegalTransition: cannot reopen while triaged; allowed next: start_investigation, "
        "request_customer_input, open_development, request_confirmation"
    )
    assert dead.headers[DeadLetterHeader.ATTEMPTS] == "1"
    assert json.loads(dead.body) == reopen.model_dump(mode="json")
    assert workflow.event_types() == OPENED
    assert workflow.store.documents[TICKET_ID]["version"] == 1


async def test_development_events_are_also_published_for_the_development_tracker() -> None:
    workflow = build_workflow()
    development_id = development_ticket_id("development:1")
    progress = agent_command(
        RecordDevelopmentProgress,
        "progress:1",
        development_ticket_id=development_id,
        status=DevelopmentStatus.FIX_IN_PROGRESS,
    )

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating())
        await send(broker, agent_command(RequestDevelopment, "development:1", summary="Patch"))
        await send(broker, progress)

    assert types_of(workflow.development_events) == ["DevelopmentTicketOpened", "FixStarted"]
    assert {e.key for e in workflow.development_events} == {TICKET_ID.encode()}
    on_ticket_topic = {json.loads(e.body)["event_id"]: e.body for e in workflow.events}
    for event in workflow.development_events:
        assert json.loads(event.body)["development_ticket_id"] == development_id
        assert on_ticket_topic[json.loads(event.body)["event_id"]] == event.body


async def test_a_fix_without_a_development_ticket_stays_off_the_development_topic() -> None:
    workflow = build_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        await send(broker, start_investigating())
        fix = agent_command(ChangeStatus, "status:2", status=TicketStatus.FIX_IN_PROGRESS)
        await send(broker, fix)

    assert "FixStarted" in workflow.event_types()
    assert workflow.development_events == []


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
    assert workflow.event_types() == OPENED


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
    assert workflow.event_types() == OPENED


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


async def test_a_bad_command_in_a_batch_is_dead_lettered_alone() -> None:
    workflow = build_workflow()
    first = open_ticket_command("TCK-000000000000000A")
    malformed = {**open_ticket_command().model_dump(mode="json"), "ticket_id": "TCK-nope"}
    last = open_ticket_command("TCK-000000000000000B")

    async with TestKafkaBroker(workflow.broker) as broker:
        await broker.publish_batch(first, malformed, last, topic=TICKET_COMMANDS.name)

    (dead,) = workflow.dead_letters
    assert json.loads(dead.body) == malformed
    assert "ticket_id" in dead.headers[DeadLetterHeader.ERROR]
    assert sorted(workflow.store.documents) == [first.ticket_id, last.ticket_id]
    assert workflow.event_types() == OPENED + OPENED


async def test_a_batch_applies_one_tickets_commands_in_order_and_sends_each_event_once() -> None:
    workflow = build_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        await broker.publish_batch(
            open_ticket_command(), start_investigating("status:1"), topic=TICKET_COMMANDS.name
        )

    document = workflow.store.documents[TICKET_ID]
    assert document["status"] == TicketStatus.INVESTIGATING
    assert workflow.event_types() == [*OPENED, "InvestigationStarted"]
    assert document["outbox_pending"] == []
