"""Kafka entry points of the workflow: translate a message into a call on the core."""

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.workflow.deliveries import TicketDeliveries
from services.workflow.incidents import IncidentCommands
from services.workflow.tickets import TicketCommands
from shared.deliveries import NotificationEvent
from shared.events import TicketCommand
from shared.incidents import AnyIncidentCommand
from shared.kafka import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS, consumer_router
from shared.topics import INCIDENT_COMMANDS, NOTIFICATION_EVENTS, TICKET_COMMANDS


def build_router(commands: TicketCommands, group_id: str, batch: int = 1) -> KafkaRouter:
    """Ticket commands in batches of up to `batch`: see TicketCommands.handle_batch."""
    router = consumer_router()

    @router.subscriber(
        TICKET_COMMANDS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        batch=True,
        max_records=batch,
        title="ticket-commands",
        description=TICKET_COMMANDS.description,
    )
    async def on_ticket_commands(consumed: list[TicketCommand], message: KafkaMessage) -> None:
        await commands.handle_batch(consumed, message.batch_headers)

    return router


def build_incident_router(commands: IncidentCommands, group_id: str) -> KafkaRouter:
    router = consumer_router()

    @router.subscriber(
        INCIDENT_COMMANDS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        title="incident-commands",
        description=INCIDENT_COMMANDS.description,
    )
    async def on_incident_command(command: AnyIncidentCommand) -> None:
        await commands.handle(command)

    return router


def build_delivery_router(
    deliveries: TicketDeliveries, group_id: str, batch: int = 1
) -> KafkaRouter:
    router = consumer_router()

    @router.subscriber(
        NOTIFICATION_EVENTS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        batch=True,
        max_records=batch,
        title="notification-events",
        description=NOTIFICATION_EVENTS.description,
    )
    async def on_notification_events(events: list[NotificationEvent]) -> None:
        await deliveries.record_many(events)

    return router
