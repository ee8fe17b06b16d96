"""The workflow wired as in production on an in-memory broker and a fake store, with an
operator listening on the topics it writes to."""

from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry

from services.workflow.domain.rules import parse_rules
from services.workflow.metrics import events_published_counter
from services.workflow.outbox import Outbox
from services.workflow.scheduler import TimerScheduler
from services.workflow.settings import DEFAULT_RULES
from services.workflow.subscribers import build_router
from services.workflow.tickets import TicketCommands
from shared.events import Actor, Command, ticket_event_adapter
from shared.kafka import DeadLetterPolicy, create_broker
from shared.settings import Environment, ServiceSettings
from shared.topics import DEAD_LETTER, DEVELOPMENT_EVENTS, TICKET_COMMANDS, TICKET_EVENTS
from shared.vocabulary import Role
from tests.service.fakes import NOW, FakeTicketStore, FixedClock

GROUP = "switchboard-workflow"
RULES = parse_rules(DEFAULT_RULES.read_text())
TICKET_ID = "TCK-0123456789ABCDEF"
AGENT = Actor(role=Role.AGENT, name="dana")
LEASE_S = 30.0

CommandT = TypeVar("CommandT", bound=Command)


@dataclass(frozen=True)
class Received:
    key: bytes | None
    headers: dict[str, Any]
    body: bytes


@dataclass
class Workflow:
    broker: KafkaBroker
    store: FakeTicketStore
    clock: FixedClock
    scheduler: TimerScheduler
    events: list[Received] = field(default_factory=list)
    development_events: list[Received] = field(default_factory=list)
    dead_letters: list[Received] = field(default_factory=list)
    commands: list[Received] = field(default_factory=list)

    def event_types(self) -> list[str]:
        return types_of(self.events)


def types_of(received: list[Received]) -> list[str]:
    return [ticket_event_adapter.validate_json(r.body).type for r in received]


def build_workflow(
    store: FakeTicketStore | None = None,
    attempts: int = 3,
    clock: FixedClock | None = None,
    registry: CollectorRegistry | None = None,
) -> Workflow:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    policy = DeadLetterPolicy(GROUP, attempts=attempts, backoff_s=0)
    broker = create_broker(
        settings, client_id="switchboard-workflow", dead_letter=policy, registry=registry
    )
    store = store or FakeTicketStore()
    clock = clock or FixedClock()
    outbox = Outbox(
        store,
        broker.publisher(TICKET_EVENTS.name),
        broker.publisher(DEVELOPMENT_EVENTS.name),
        events_published_counter(registry) if registry else None,
    )
    commands = TicketCommands(store, outbox, RULES, clock)
    broker.include_router(build_router(commands, GROUP))
    scheduler = TimerScheduler(
        store, broker.publisher(TICKET_COMMANDS.name), clock, interval_s=1, lease_s=LEASE_S
    )
    workflow = Workflow(broker, store, clock, scheduler)
    _listen(broker, TICKET_EVENTS.name, workflow.events)
    _listen(broker, DEVELOPMENT_EVENTS.name, workflow.development_events)
    _listen(broker, DEAD_LETTER.name, workflow.dead_letters)
    _listen(broker, TICKET_COMMANDS.name, workflow.commands)
    return workflow


def _listen(broker: KafkaBroker, topic: str, into: list[Received]) -> None:
    @broker.subscriber(topic, group_id="operator")
    async def watch(body: Any, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        into.append(Received(record.key, dict(message.headers), message.body))


async def send(broker: KafkaBroker, command: Command | dict[str, Any]) -> None:
    key = command.ticket_id if isinstance(command, Command) else command["ticket_id"]
    await broker.publish(command, TICKET_COMMANDS.name, key=key.encode())


def agent_command(kind: type[CommandT], command_id: str, **fields: Any) -> CommandT:
    return kind(
        command_id=command_id, issued_at=NOW, issued_by=AGENT, ticket_id=TICKET_ID, **fields
    )
