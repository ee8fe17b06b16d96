"""The workflow wired as in production for outages, on an in-memory broker and fake stores:
ticket and incident commands, what follows from them, and an operator on every topic."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.workflow.domain.rules import Rules
from services.workflow.incidents import IncidentCommands
from services.workflow.outages import Outages
from services.workflow.outbox import Outbox
from services.workflow.subscribers import build_incident_router, build_router
from services.workflow.tickets import TicketCommands
from shared.customers import Services
from shared.events import (
    Actor,
    AffectedService,
    OpenTicket,
    TicketDetails,
    ticket_command_adapter,
)
from shared.incidents import (
    AnyIncidentCommand,
    DeclareIncident,
    IncidentScope,
    ResolveIncident,
    Severity,
    UpdateIncident,
    incident_command_adapter,
    incident_event_adapter,
)
from shared.kafka import DeadLetterPolicy, create_broker
from shared.settings import Environment, ServiceSettings
from shared.topics import (
    DEAD_LETTER,
    DEVELOPMENT_EVENTS,
    INCIDENT_COMMANDS,
    INCIDENT_EVENTS,
    TICKET_COMMANDS,
    TICKET_EVENTS,
)
from shared.vocabulary import Category, Role
from tests.service.fakes import (
    NOW,
    FakeIncidentStore,
    FakeServiceDirectory,
    FakeTicketStore,
    FixedClock,
)
from tests.service.workflow_wiring import GROUP, RULES, Received, types_of

NOC = Actor(role=Role.AGENT, name="noc-desk")
INCIDENT_ID = "INC-0123456789ABCDEF"


@dataclass
class OutageWorkflow:
    broker: KafkaBroker
    tickets: FakeTicketStore
    incidents: FakeIncidentStore
    clock: FixedClock
    ticket_events: list[Received] = field(default_factory=list)
    incident_events: list[Received] = field(default_factory=list)
    ticket_commands: list[Received] = field(default_factory=list)
    incident_commands: list[Received] = field(default_factory=list)
    dead_letters: list[Received] = field(default_factory=list)

    def ticket_event_types(self) -> list[str]:
        return types_of(self.ticket_events)

    def incident_event_types(self) -> list[str]:
        return [incident_event_adapter.validate_json(r.body).type for r in self.incident_events]

    def commands_of(self, kind: str) -> list[Any]:
        parsed = [ticket_command_adapter.validate_json(r.body) for r in self.ticket_commands]
        return [command for command in parsed if command.type == kind]

    def declarations(self) -> list[DeclareIncident]:
        parsed = [incident_command_adapter.validate_json(r.body) for r in self.incident_commands]
        return [command for command in parsed if isinstance(command, DeclareIncident)]

    def linked(self) -> set[str]:
        return {
            ticket_id
            for ticket_id, document in self.tickets.documents.items()
            if document.get("incident_id")
        }


def build_outage_workflow(
    services: dict[str, Services] | None = None, rules: Rules = RULES
) -> OutageWorkflow:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    policy = DeadLetterPolicy(GROUP, attempts=1, backoff_s=0)
    broker = create_broker(settings, client_id="switchboard-workflow", dead_letter=policy)
    tickets, incidents, clock = FakeTicketStore(), FakeIncidentStore(), FixedClock()
    outages = Outages(
        tickets,
        incidents,
        FakeServiceDirectory(services),
        broker.publisher(TICKET_COMMANDS.name),
        broker.publisher(INCIDENT_COMMANDS.name),
        rules.incidents,
        clock,
    )
    ticket_outbox = Outbox(
        tickets, broker.publisher(TICKET_EVENTS.name), broker.publisher(DEVELOPMENT_EVENTS.name)
    )
    incident_outbox = Outbox(incidents, broker.publisher(INCIDENT_EVENTS.name))
    commands = TicketCommands(tickets, ticket_outbox, rules, clock, outages)
    broker.include_router(build_router(commands, GROUP))
    incident_commands = IncidentCommands(incidents, incident_outbox, clock, outages)
    broker.include_router(build_incident_router(incident_commands, f"{GROUP}-incidents"))
    workflow = OutageWorkflow(broker, tickets, incidents, clock)
    listen(broker, TICKET_EVENTS.name, workflow.ticket_events)
    listen(broker, INCIDENT_EVENTS.name, workflow.incident_events)
    listen(broker, TICKET_COMMANDS.name, workflow.ticket_commands)
    listen(broker, INCIDENT_COMMANDS.name, workflow.incident_commands)
    listen(broker, DEAD_LETTER.name, workflow.dead_letters)
    return workflow


def listen(broker: KafkaBroker, topic: str, into: list[Received]) -> None:
    @broker.subscriber(topic, group_id="operator")
    async def watch(body: Any, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        into.append(Received(record.key, dict(message.headers), message.body))


def report(
    customer_id: str = "acme-telecom",
    category: Category = Category.SERVICE_OUTAGE,
    affected: AffectedService | None = None,
) -> TicketDetails:
    return TicketDetails(
        customer_id=customer_id,
        category=category,
        summary="No calls go through",
        reporting_system="crm",
        affected=affected,
    )


def opening(number: int, details: TicketDetails) -> OpenTicket:
    ticket_id = f"TCK-{number:016d}"
    return OpenTicket(
        command_id=f"open:{ticket_id}",
        issued_at=NOW,
        issued_by=Actor(role=Role.SYSTEM, name="crm"),
        ticket_id=ticket_id,
        details=details,
        request_hash="a" * 64,
    )


def declaration(scope: IncidentScope, incident_id: str = INCIDENT_ID) -> DeclareIncident:
    return DeclareIncident(
        command_id=f"declare:{incident_id}",
        issued_at=NOW,
        issued_by=NOC,
        incident_id=incident_id,
        title="Calls fail in eu-west",
        severity=Severity.CRITICAL,
        scope=scope,
        message="Calls in eu-west fail. Engineers are rerouting traffic.",
        request_hash="b" * 64,
    )


def update(message: str = "Traffic is being rerouted.", number: int = 1) -> UpdateIncident:
    return UpdateIncident(
        command_id=f"update:{INCIDENT_ID}:{number}",
        issued_at=NOW,
        issued_by=NOC,
        incident_id=INCIDENT_ID,
        message=message,
    )


def resolution(message: str = "Calls go through again.") -> ResolveIncident:
    return ResolveIncident(
        command_id=f"resolve:{INCIDENT_ID}",
        issued_at=NOW,
        issued_by=NOC,
        incident_id=INCIDENT_ID,
        message=message,
    )


async def send_ticket_command(broker: KafkaBroker, command: OpenTicket) -> None:
    await broker.publish(command, TICKET_COMMANDS.name, key=command.ticket_id.encode())


async def send_incident_command(broker: KafkaBroker, command: AnyIncidentCommand) -> None:
    await broker.publish(command, INCIDENT_COMMANDS.name, key=command.incident_id.encode())


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)
