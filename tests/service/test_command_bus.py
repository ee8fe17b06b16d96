"""Intake's command bus on an in-memory broker: a command is either acknowledged or refused."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake.commands import (
    CommandBus,
    KafkaOutcomeUnknown,
    KafkaUnavailable,
    Publishers,
)
from shared.kafka import create_broker
from shared.producers import DirectPublisher
from shared.settings import Environment, ServiceSettings
from shared.topics import INCIDENT_COMMANDS, TICKET_COMMANDS
from tests.service.fakes import declare_incident_command, open_ticket_command

HEALTH_INTERVAL_S = 0.01


@dataclass
class Intake:
    broker: KafkaBroker
    bus: CommandBus
    landed: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    incidents_landed: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    slow_consumer_s: float = 0.0


async def nothing_to_prepare() -> None:
    return None


async def eventually(condition: Callable[[], bool], polls: int = 200) -> None:
    """Wait for the bus's background health check to notice; there is no event to await."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(HEALTH_INTERVAL_S)
    raise AssertionError("the bus never noticed")


def build_intake(timeout_s: float = 1.0) -> Intake:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    broker = create_broker(settings, client_id="switchboard-intake")
    publishers = Publishers(
        tickets=DirectPublisher(broker, broker.publisher(TICKET_COMMANDS.name)),
        incidents=DirectPublisher(broker, broker.publisher(INCIDENT_COMMANDS.name)),
    )
    bus = CommandBus(
        broker, publishers, timeout_s, nothing_to_prepare, health_interval_s=HEALTH_INTERVAL_S
    )
    intake = Intake(broker, bus)

    @broker.subscriber(TICKET_COMMANDS.name, group_id="switchboard-workflow")
    async def workflow(message: KafkaMessage) -> None:
        # The in-memory broker delivers inside publish(): a slow consumer is a slow ack.
        await asyncio.sleep(intake.slow_consumer_s)
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        intake.landed.append((record.key, message.body))

    @broker.subscriber(INCIDENT_COMMANDS.name, group_id="switchboard-workflow")
    async def incident_workflow(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        intake.incidents_landed.append((record.key, message.body))

    return intake


@pytest.fixture
async def connected() -> AsyncIterator[Intake]:
    intake = build_intake(timeout_s=0.2)
    async with TestKafkaBroker(intake.broker):
        link = asyncio.create_task(intake.bus.run())
        await eventually(lambda: intake.bus.reachable)
        yield intake
        link.cancel()
        await asyncio.gather(link, return_exceptions=True)


async def test_before_kafka_was_ever_reached_a_command_is_refused_and_nothing_queued() -> None:
    intake = build_intake()

    async with TestKafkaBroker(intake.broker):
        with pytest.raises(KafkaUnavailable):
            await intake.bus.send(open_ticket_command(), key="TCK-0123456789ABCDEF")

    assert not intake.bus.reachable
    assert intake.landed == []


async def test_once_kafka_answers_a_command_lands_keyed_by_its_ticket(connected: Intake) -> None:
    command = open_ticket_command()

    await connected.bus.send(command, key=command.ticket_id)

    ((key, body),) = connected.landed
    assert key == command.ticket_id.encode()
    assert json.loads(body) == command.model_dump(mode="json")


async def test_an_incident_command_lands_on_the_incident_topic_keyed_by_its_incident(
    connected: Intake,
) -> None:
    command = declare_incident_command()

    await connected.bus.send(command, key=command.incident_id)

    ((key, body),) = connected.incidents_landed
    assert key == command.incident_id.encode()
    assert json.loads(body) == command.model_dump(mode="json")
    assert connected.landed == []


async def test_a_command_kafka_does_not_confirm_in_time_has_an_unknown_outcome(
    connected: Intake,
) -> None:
    connected.slow_consumer_s = 5.0

    with pytest.raises(KafkaOutcomeUnknown):
        await connected.bus.send(open_ticket_command(), key="TCK-0123456789ABCDEF")


async def test_when_kafka_stops_answering_commands_are_refused_again(
    connected: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unanswered(*_: object) -> bool:
        return False

    monkeypatch.setattr(connected.broker, "ping", unanswered)
    await eventually(lambda: not connected.bus.reachable)

    with pytest.raises(KafkaUnavailable):
        await connected.bus.send(open_ticket_command(), key="TCK-0123456789ABCDEF")
    assert connected.landed == []
