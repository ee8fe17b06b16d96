"""Composition root of the workflow service."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher
from prometheus_client import CollectorRegistry
from pydantic import Field

from services.workflow.deliveries import TicketDeliveries
from services.workflow.directory import ServiceDirectory
from services.workflow.domain.rules import Rules, parse_rules
from services.workflow.incident_store import IncidentStore
from services.workflow.incidents import IncidentCommands
from services.workflow.metrics import events_published_counter, store_counts
from services.workflow.outages import Outages
from services.workflow.outbox import Outbox, OutboxRelay
from services.workflow.scheduler import TimerScheduler
from services.workflow.settings import WorkflowSettings
from services.workflow.store import TicketStore
from services.workflow.subscribers import (
    build_delivery_router,
    build_incident_router,
    build_router,
)
from services.workflow.tickets import TicketCommands
from shared.asyncapi import asyncapi_route, service_asyncapi
from shared.events import (
    DevelopmentEvent,
    FireDueTimers,
    LinkToIncident,
    ResolveWithIncident,
    TicketEvent,
)
from shared.incidents import AnyIncidentEvent, DeclareIncident
from shared.kafka import DeadLetterPolicy, create_broker, ensure_topics
from shared.metrics import ConsumerLag, metrics_route, scrape_refresh
from shared.mongo import Collections, create_client, ensure_indexes
from shared.probes import probe_routes
from shared.topics import (
    ALL_TOPICS,
    DEVELOPMENT_EVENTS,
    INCIDENT_COMMANDS,
    INCIDENT_EVENTS,
    TICKET_COMMANDS,
    TICKET_EVENTS,
)
from shared.tracing import configure_tracing

OutageCommand = Annotated[LinkToIncident | ResolveWithIncident, Field(discriminator="type")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_rules(settings: WorkflowSettings) -> Rules:
    return parse_rules(settings.rules_path.read_text(), source=str(settings.rules_path))


@dataclass(frozen=True)
class Publishers:
    ticket_events: DefaultPublisher
    development_events: DefaultPublisher
    incident_events: DefaultPublisher
    timer_commands: DefaultPublisher
    outage_commands: DefaultPublisher  # links to and resolutions with an outage, per ticket
    detections: DefaultPublisher  # outages declared on a burst of similar tickets


def publishers(broker: KafkaBroker) -> Publishers:
    return Publishers(
        ticket_events=broker.publisher(
            TICKET_EVENTS.name,
            schema=TicketEvent,
            title="ticket-events",
            description=TICKET_EVENTS.description,
        ),
        development_events=broker.publisher(
            DEVELOPMENT_EVENTS.name,
            schema=DevelopmentEvent,
            title="development-events",
            description=DEVELOPMENT_EVENTS.description,
        ),
        incident_events=broker.publisher(
            INCIDENT_EVENTS.name,
            schema=AnyIncidentEvent,
            title="incident-events",
            description=INCIDENT_EVENTS.description,
        ),
        timer_commands=broker.publisher(
            TICKET_COMMANDS.name,
            schema=FireDueTimers,
            title="ticket-commands:timers",
            description="FireDueTimers commands issued by the SLA scheduler.",
        ),
        outage_commands=broker.publisher(
            TICKET_COMMANDS.name,
            schema=OutageCommand,
            title="ticket-commands:outages",
            description="Tickets linked to an outage in their scope, and resolved with it.",
        ),
        detections=broker.publisher(
            INCIDENT_COMMANDS.name,
            schema=DeclareIncident,
            title="incident-commands:detection",
            description="Outages declared on a burst of similar tickets.",
        ),
    )


def create_app(settings: WorkflowSettings) -> AsgiFastStream:
    rules = load_rules(settings)  # a bad rules file stops the service here, at boot
    registry = CollectorRegistry() if settings.metrics_enabled else None
    tracing = configure_tracing("switchboard-workflow", settings)
    broker = create_broker(
        settings,
        client_id="switchboard-workflow",
        dead_letter=DeadLetterPolicy(settings.workflow_group),
        description="Workflow: the single writer of tickets and incidents.",
        registry=registry,
        tracing=tracing,
    )
    client = create_client(settings)
    database = client[settings.mongo_database]
    store = TicketStore(database[Collections.TICKETS], database[Collections.TIMER_CLAIMS])
    incident_store = IncidentStore(database[Collections.INCIDENTS])
    publish = publishers(broker)
    published = events_published_counter(registry) if registry else None
    outbox = Outbox(store, publish.ticket_events, publish.development_events, published)
    incident_outbox = Outbox(
        incident_store, publish.incident_events, published=published, aggregate_id="incident_id"
    )
    outages = Outages(
        store,
        incident_store,
        ServiceDirectory(database[Collections.CUSTOMERS]),
        publish.outage_commands,
        publish.detections,
        rules.incidents,
        utc_now,
    )
    commands = TicketCommands(store, outbox, rules, utc_now, outages, tracing)
    incident_commands = IncidentCommands(incident_store, incident_outbox, utc_now, outages)
    group, batch = settings.workflow_group, settings.consumer_batch
    broker.include_router(build_router(commands, group, batch))
    # Groups of their own: a rebalance of one never pauses the ticket commands.
    broker.include_router(build_incident_router(incident_commands, f"{group}-incidents"))
    deliveries = TicketDeliveries(database[Collections.TICKET_DELIVERIES])
    broker.include_router(build_delivery_router(deliveries, f"{group}-deliveries", batch))
    interval, grace = settings.relay_interval_s, settings.relay_grace_s
    relays = [
        OutboxRelay(outbox, store, utc_now, interval, grace, tracing),
        OutboxRelay(incident_outbox, incident_store, utc_now, interval, grace, tracing),
    ]
    scheduler = TimerScheduler(
        store,
        publish.timer_commands,
        utc_now,
        settings.scheduler_interval_s,
        settings.timer_lease_s,
    )
    tasks: set[asyncio.Task[None]] = set()

    async def prepare() -> None:
        await ensure_topics(settings.kafka_bootstrap, ALL_TOPICS)
        await ensure_indexes(database)

    async def start_background_work() -> None:
        for number, relay in enumerate(relays):
            tasks.add(asyncio.create_task(relay.run(), name=f"outbox-relay-{number}"))
        tasks.add(asyncio.create_task(scheduler.run(), name="sla-scheduler"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        tracing.shutdown()

    routes = probe_routes(broker, database)
    if registry is not None:
        refresh = scrape_refresh(store_counts(registry, database), ConsumerLag(registry, broker))
        routes.append(metrics_route(registry, refresh))
    return AsgiFastStream(
        broker,
        asgi_routes=routes,
        specification=service_asyncapi(broker, "workflow"),
        asyncapi_path=asyncapi_route(),
        logger=logging.getLogger("switchboard.workflow"),
        on_startup=[prepare],
        after_startup=[start_background_work],
        on_shutdown=[stop],
    )
