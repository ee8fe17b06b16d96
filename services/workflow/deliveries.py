"""Records what became of each notification on its ticket, for the ticket's timeline."""

import logging

from services.workflow.store import TicketStore
from shared.deliveries import NotificationEvent, delivery_entry

log = logging.getLogger("switchboard.workflow.deliveries")


class TicketDeliveries:
    def __init__(self, store: TicketStore) -> None:
        self._store = store

    async def record(self, event: NotificationEvent) -> bool:
        """Idempotent: a redelivered event is recognised by its id and changes nothing."""
        entry = delivery_entry(event).model_dump(mode="json", exclude={"kind"})
        recorded = await self._store.record_delivery(event.ticket_id, entry)
        if not recorded:
            log.debug(
                "delivery already recorded, or no such ticket",
                extra={"ticket": event.ticket_id, "event_id": event.event_id},
            )
        return recorded
