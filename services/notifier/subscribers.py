"""Kafka entry points of the notifier."""

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from services.notifier.alerts.records import ALERT_TOPICS, alert_of
from services.notifier.alerts.relay import AlertTaker
from services.notifier.broadcasts.deliveries import BroadcastDeliveries
from services.notifier.broadcasts.plans import BroadcastPlanner
from services.notifier.notifications.plans import TicketNotifications
from shared.events import TicketEvent
from shared.incidents import AnyIncidentEvent, BroadcastChunk
from shared.kafka import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS, consumer_router
from shared.logs import handling
from shared.topics import INCIDENT_BROADCASTS, INCIDENT_EVENTS, TICKET_EVENTS

# A chunk may wait out a dead instance's claim and then take minutes to deliver; Kafka must
# not take it for a stuck consumer meanwhile.
CHUNK_POLL_INTERVAL_MS = 15 * 60 * 1000


def build_router(notifications: TicketNotifications, group_id: str, batch: int = 1) -> KafkaRouter:
    """Ticket events in batches of up to `batch`: one ticket's in order, tickets side by side."""
    router = consumer_router()

    @router.subscriber(
        TICKET_EVENTS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        batch=True,
        max_records=batch,
        title="ticket-events",
        description=TICKET_EVENTS.description,
    )
    async def on_ticket_events(events: list[TicketEvent], message: KafkaMessage) -> None:
        await notifications.on_events(events, message.batch_headers)

    return router


def build_broadcast_router(
    planner: BroadcastPlanner,
    deliveries: BroadcastDeliveries,
    group_id: str,
    chunk_workers: int = 1,
) -> KafkaRouter:
    """Outage broadcasts: plan each incident event's audience, then deliver it chunk by chunk,
    `chunk_workers` chunks side by side.

    Planning has a consumer group of its own, so a long plan never holds up the chunks.
    """
    router = consumer_router()

    @router.subscriber(
        INCIDENT_EVENTS.name,
        group_id=f"{group_id}-broadcast-plans",
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        title="incident-events",
        description=INCIDENT_EVENTS.description,
    )
    async def on_incident_event(event: AnyIncidentEvent) -> None:
        with handling(incident_id=event.incident_id):
            await planner.on_incident_event(event)

    @router.subscriber(
        INCIDENT_BROADCASTS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        max_workers=chunk_workers,
        max_poll_interval_ms=CHUNK_POLL_INTERVAL_MS,
        title="incident-broadcasts",
        description=INCIDENT_BROADCASTS.description,
    )
    async def on_broadcast_chunk(chunk: BroadcastChunk) -> None:
        with handling(incident_id=chunk.event.incident_id):
            await deliveries.on_chunk(chunk)

    return router


def build_alert_router(relay: AlertTaker, group_id: str, batch: int) -> KafkaRouter:
    """Operator alerts, in a consumer group of their own: incident, ticket and dead-letter
    records handed to the relay, which commits their offsets once their alerts are posted."""
    router = KafkaRouter(ack_policy=AckPolicy.MANUAL)

    @router.subscriber(
        *(topic.name for topic in ALERT_TOPICS),
        group_id=f"{group_id}-alerts",
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        batch=True,
        max_records=batch,
        ack_policy=AckPolicy.MANUAL,
        title="operator-alerts",
        description="Incidents declared, p1 SLA breaches and dead letters, told to operators.",
    )
    async def on_alert_records(message: KafkaMessage) -> None:
        raw = message.raw_message  # a tuple of records (a list in the in-memory broker)
        records = raw if isinstance(raw, tuple | list) else (raw,)
        relay.take(
            [alert for record in records if (alert := alert_of(record)) is not None],
            [(record.topic, record.partition, record.offset) for record in records],
            message.consumer,  # type: ignore[arg-type]  # the AIOKafkaConsumer itself
        )

    return router
