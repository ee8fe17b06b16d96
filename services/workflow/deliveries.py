"""Records what became of each notification, for its ticket's timeline.

The records live in a collection of their own, one document per delivery event under the
event's id: the ticket document stays written by its commands alone, so a delivery can never
race a command's decision, and a redelivered event is refused by the unique `_id`.
"""

import logging

from pymongo.errors import DuplicateKeyError

from shared.deliveries import NotificationEvent, delivery_entry
from shared.mongo import Collection

log = logging.getLogger("switchboard.workflow.deliveries")


class TicketDeliveries:
    def __init__(self, records: Collection) -> None:
        self._records = records

    async def record(self, event: NotificationEvent) -> bool:
        """Idempotent: a redelivered event is recognised by its id and changes nothing.

        An outage broadcast names no ticket: the notifier's own notification documents are
        its record, so it is not kept here.
        """
        if event.ticket_id is None:
            return False
        entry = delivery_entry(event).model_dump(mode="python", exclude={"kind"})
        try:
            await self._records.insert_one(
                {"_id": event.event_id, "ticket_id": event.ticket_id, **entry}
            )
        except DuplicateKeyError:
            log.debug("delivery already recorded", extra={"event_id": event.event_id})
            return False
        return True
