"""The SLA scheduler: due clocks become FireDueTimers commands, each issued once, and the
workflow applies them through the normal command path."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.workflow.domain.tickets import open_ticket
from services.workflow.scheduler import TimerScheduler
from shared.events import WORKFLOW, FireDueTimers, ticket_command_adapter
from shared.kafka import create_broker
from shared.settings import Environment, ServiceSettings
from shared.topics import TICKET_COMMANDS
from tests.service.fakes import NOW, FakeTicketStore, FixedClock, open_ticket_command
from tests.service.workflow_wiring import LEASE_S, RULES, TICKET_ID, build_workflow, send

FIRST_RESPONSE = timedelta(hours=1)  # a call-quality ticket is p2
KEEP_IN_LOOP = timedelta(hours=4)
OPENED = ["TicketOpened", "TicketTriaged"]


@dataclass
class Scheduler:
    """The scheduler alone, with an operator watching the commands it issues."""

    broker: KafkaBroker
    store: FakeTicketStore
    clock: FixedClock
    scheduler: TimerScheduler
    issued: list[tuple[bytes | None, FireDueTimers]] = field(default_factory=list)

    async def ticket_opened(self, ticket_id: str, at: datetime) -> datetime:
        """A ticket opened at `at`; when its first clock is due."""
        decision = open_ticket(open_ticket_command(ticket_id), at, RULES)
        document = await self.store.save(decision, loaded_version=None)
        due: datetime = document["next_timer_at"]
        return due


def build_scheduler() -> Scheduler:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    broker = create_broker(settings, client_id="switchboard-workflow")
    store, clock = FakeTicketStore(), FixedClock(NOW)
    publisher = broker.publisher(TICKET_COMMANDS.name)
    scheduler = Scheduler(
        broker, store, clock, TimerScheduler(store, publisher, clock, 1, lease_s=LEASE_S)
    )

    @broker.subscriber(TICKET_COMMANDS.name, group_id="operator")
    async def watch(body: dict[str, Any], message: KafkaMessage) -> None:
        command = ticket_command_adapter.validate_python(body)
        record = message.raw_message
        assert isinstance(command, FireDueTimers)
        assert isinstance(record, ConsumerRecord)
        scheduler.issued.append((record.key, command))

    return scheduler


async def test_one_command_is_issued_per_due_ticket_naming_the_due_moment() -> None:
    timers = build_scheduler()
    first, second = "TCK-0000000000000001", "TCK-0000000000000002"
    due_now = await timers.ticket_opened(second, NOW - FIRST_RESPONSE)
    overdue = await timers.ticket_opened(first, NOW - 2 * FIRST_RESPONSE)
    await timers.ticket_opened("TCK-0000000000000003", NOW - FIRST_RESPONSE / 2)

    async with TestKafkaBroker(timers.broker):
        issued = await timers.scheduler.fire_due()

    assert issued == 2
    assert [(key, c.ticket_id, c.command_id) for key, c in timers.issued] == [
        (first.encode(), first, f"timers:{first}:{overdue.isoformat()}"),
        (second.encode(), second, f"timers:{second}:{due_now.isoformat()}"),
    ]
    assert {(c.issued_by, c.issued_at) for _, c in timers.issued} == {(WORKFLOW, NOW)}


async def test_a_claimed_ticket_is_not_issued_twice_until_its_claim_runs_out() -> None:
    timers = build_scheduler()
    await timers.ticket_opened(TICKET_ID, NOW - FIRST_RESPONSE)

    async with TestKafkaBroker(timers.broker):
        first = await timers.scheduler.fire_due()
        again = await timers.scheduler.fire_due()
        timers.clock.advance(LEASE_S - 1)
        within_claim = await timers.scheduler.fire_due()
        timers.clock.advance(1)
        after_claim = await timers.scheduler.fire_due()

    assert (first, again, within_claim, after_claim) == (1, 0, 0, 1)
    # Issued again only because nothing decided it; the same id lets the workflow tell.
    (_, one), (_, other) = timers.issued
    assert one.command_id == other.command_id


async def test_nothing_due_issues_nothing() -> None:
    timers = build_scheduler()
    await timers.ticket_opened(TICKET_ID, NOW)

    async with TestKafkaBroker(timers.broker):
        issued = await timers.scheduler.fire_due()

    assert issued == 0
    assert timers.issued == []


async def test_a_due_clock_fires_through_the_workflow_once() -> None:
    workflow = build_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        workflow.clock.advance(FIRST_RESPONSE.total_seconds())
        fired = await workflow.scheduler.fire_due()
        again = await workflow.scheduler.fire_due()

    assert (fired, again) == (1, 0)
    assert workflow.event_types() == [*OPENED, "SlaBreached", "TicketEscalated"]
    stored = workflow.store.documents[TICKET_ID]
    assert stored["next_timer_at"] > workflow.clock()
    assert stored["tier"] == "engineering_lead"


async def test_a_redelivered_timer_command_decides_nothing_twice() -> None:
    workflow = build_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())
        workflow.clock.advance(FIRST_RESPONSE.total_seconds())
        await workflow.scheduler.fire_due()
        (issued,) = [json.loads(c.body) for c in workflow.commands if b"FireDueTimers" in c.body]
        # Redelivered once keep-in-loop is due too: decided again, it would send an update.
        workflow.clock.advance(KEEP_IN_LOOP.total_seconds())
        await send(broker, issued)
        redelivered = workflow.event_types()
        await workflow.scheduler.fire_due()  # the update comes with its own command

    assert redelivered == [*OPENED, "SlaBreached", "TicketEscalated"]
    assert workflow.event_types() == [*redelivered, "ProgressUpdateSent"]
