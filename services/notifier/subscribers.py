"""Kafka entry points of the notifier."""

from faststream.kafka import KafkaRouter

from services.notifier.notifications import TicketNotifications
from shared.events import TicketEvent
from shared.topics import TICKET_EVENTS


def build_router(
    notifications: TicketNotifications, group_id: str, workers: int = 1
) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TICKET_EVENTS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        max_workers=workers,
        title="ticket-events",
        description=TICKET_EVENTS.description,
    )
    async def on_ticket_event(event: TicketEvent) -> None:
        await notifications.on_event(event)

    return router
