"""Composition root of the workflow service."""

import asyncio
import logging
from datetime import UTC, datetime

from faststream.asgi import AsgiFastStream

from services.workflow.deliveries import TicketDeliveries
from services.workflow.domain.rules import Rules, parse_rules
from services.workflow.outbox import Outbox, OutboxRelay
from services.workflow.scheduler import TimerScheduler
from services.workflow.settings import WorkflowSettings
from services.workflow.store import TicketStore
from services.workflow.subscribers import build_delivery_router, build_router
from services.workflow.tickets import TicketCommands
from shared.events import DevelopmentEvent, FireDueTimers, TicketEvent
from shared.kafka import DeadLetterPolicy, create_broker, ensure_topics
from shared.mongo import Collections, create_client, ensure_indexes
from shared.probes import probe_routes
from shared.topics import ALL_TOPICS, DEVELOPMENT_EVENTS, TICKET_COMMANDS, TICKET_EVENTS


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_rules(settings: WorkflowSettings) -> Rules:
    return parse_rules(settings.rules_path.read_text(), source=str(settings.rules_path))


def create_app(settings: WorkflowSettings) -> AsgiFastStream:
    rules = load_rules(settings)  # a bad rules file stops the service here, at boot
    broker = create_broker(
        settings,
        client_id="switchboard-workflow",
        dead_letter=DeadLetterPolicy(settings.workflow_group),
        description="Workflow: the single writer of tickets.",
    )
    client = create_client(settings)
    database = client[settings.mongo_database]
    store = TicketStore(database[Collections.TICKETS], database[Collections.TIMER_CLAIMS])
    publisher = broker.publisher(
        TICKET_EVENTS.name,
        schema=TicketEvent,
        title="ticket-events",
        description=TICKET_EVENTS.description,
    )
    development_publisher = broker.publisher(
        DEVELOPMENT_EVENTS.name,
        schema=DevelopmentEvent,
        title="development-events",
        description=DEVELOPMENT_EVENTS.description,
    )
    timer_commands = broker.publisher(
        TICKET_COMMANDS.name,
        schema=FireDueTimers,
        title="ticket-commands:timers",
        description="FireDueTimers commands issued by the SLA scheduler.",
    )
    outbox = Outbox(store, publisher, development_publisher)
    commands = TicketCommands(store, outbox, rules, utc_now)
    workers = settings.partition_workers
    broker.include_router(build_router(commands, settings.workflow_group, workers))
    deliveries = TicketDeliveries(database[Collections.TICKET_DELIVERIES])
    # A group of its own: a rebalance of the delivery record never pauses the ticket commands.
    delivery_group = f"{settings.workflow_group}-deliveries"
    broker.include_router(build_delivery_router(deliveries, delivery_group, workers))
    relay = OutboxRelay(outbox, store, utc_now, settings.relay_interval_s, settings.relay_grace_s)
    scheduler = TimerScheduler(
        store, timer_commands, utc_now, settings.scheduler_interval_s, settings.timer_lease_s
    )
    tasks: set[asyncio.Task[None]] = set()

    async def prepare() -> None:
        await ensure_topics(settings.kafka_bootstrap, ALL_TOPICS)
        await ensure_indexes(database)

    async def start_background_work() -> None:
        tasks.add(asyncio.create_task(relay.run(), name="outbox-relay"))
        tasks.add(asyncio.create_task(scheduler.run(), name="sla-scheduler"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()

    return AsgiFastStream(
        broker,
        asgi_routes=probe_routes(broker, database),
        logger=logging.getLogger("switchboard.workflow"),
        on_startup=[prepare],
        after_startup=[start_background_work],
        on_shutdown=[stop],
    )
