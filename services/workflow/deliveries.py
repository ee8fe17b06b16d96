"""Records what became of each notification, for its ticket's timeline.

The records live in a collection of their own, one document per delivery event under the
event's id: the ticket document stays written by its commands alone, so a delivery can never
race a command's decision, and a redelivered event is refused by the unique `_id`.
"""

import logging
from collections.abc import Sequence

from shared.deliveries import NotificationEvent, delivery_entry
from shared.mongo import Collection, Document, insert_new

log = logging.getLogger("switchboard.workflow.deliveries")


class TicketDeliveries:
    def __init__(self, records: Collection) -> None:
        self._records = records

    async def record_many(self, events: Sequence[NotificationEvent]) -> int:
        """Idempotent: a redelivered event is recognised by its id and changes nothing; the
        batch is one write. How many were new.

        An outage broadcast names no ticket: the notifier's own notification documents are
        its record, so it is not kept here.
        """
        records = [_record(event) for event in events if event.ticket_id is not None]
        new = await insert_new(self._records, records)
        if len(new) < len(records):
            log.debug("deliveries already recorded", extra={"count": len(records) - len(new)})
        return len(new)

    async def record(self, event: NotificationEvent) -> bool:
        return await self.record_many([event]) == 1


def _record(event: NotificationEvent) -> Document:
    entry = delivery_entry(event).model_dump(mode="python", exclude={"kind"})
    return {"_id": event.event_id, "ticket_id": event.ticket_id, **entry}
