"""Ticket documents in MongoDB, each carrying its events and its own outbox.

A ticket's document is its state (the report's fields at the top level, so reads and the
call-ID index see them), every event it produced (its timeline), `outbox_pending` (ids of
events saved but not yet acknowledged by Kafka), `next_timer_at` (when its clocks next fire)
and `incident_id` (the outage it is part of). See `documents` for how it is written.
"""

from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from services.workflow.documents import AggregateDocuments, ConcurrentUpdate, pending_events
from services.workflow.domain.lifecycle import next_timer
from services.workflow.domain.rules import ServiceAttribute
from services.workflow.domain.tickets import Decision, Ticket
from shared.events import TicketDetails
from shared.lifecycle import CLOCKS_STOPPED
from shared.mongo import Collection, Document
from shared.vocabulary import Category, TicketStatus

__all__ = [
    "ConcurrentUpdate",
    "TicketStore",
    "details_from_document",
    "pending_events",
    "ticket_from_document",
]


def _state(ticket: Ticket) -> Document:
    state = ticket.model_dump(mode="python", exclude={"details"})
    return {
        **state,
        **ticket.details.model_dump(mode="python"),
        "next_timer_at": next_timer(ticket),
    }


def details_from_document(document: Document) -> TicketDetails:
    return TicketDetails.model_validate(
        {name: document[name] for name in TicketDetails.model_fields if name in document}
    )


def ticket_from_document(document: Document) -> Ticket:
    return Ticket.model_validate({**document, "details": details_from_document(document)})


CLAIM_CANDIDATES = 50
# Statuses whose work goes on: an outage can still take these tickets in, and resolve them.
OPEN_STATUSES = [status.value for status in TicketStatus if status not in CLOCKS_STOPPED]
# What deciding whether an outage hits a ticket reads of it: its report, less the long parts.
SCOPE_FIELDS = [
    "status",
    "incident_id",
    *(name for name in TicketDetails.model_fields if name not in {"description", "call_ids"}),
]


class TicketStore(AggregateDocuments):
    def __init__(self, tickets: Collection, timer_claims: Collection | None = None) -> None:
        super().__init__(tickets)
        self._tickets = tickets
        self._claims = timer_claims

    async def save(self, decision: Decision, loaded_version: int | None) -> Document:
        """Insert a new ticket or update a loaded one; raises ConcurrentUpdate on a lost race."""
        ticket = decision.ticket
        return await self._save(ticket.ticket_id, _state(ticket), decision.events, loaded_version)

    async def open_in_categories(self, categories: list[Category]) -> list[Document]:
        """Tickets still being worked on in these categories, with what scope matching reads."""
        cursor = self._tickets.find(
            {"status": {"$in": OPEN_STATUSES}, "category": {"$in": [c.value for c in categories]}},
            dict.fromkeys(SCOPE_FIELDS, 1),
        )
        return [document async for document in cursor]

    async def open_linked_to(self, incident_id: str) -> list[str]:
        """The ids of the tickets still being worked on that are part of the incident."""
        cursor = self._tickets.find(
            {"incident_id": incident_id, "status": {"$in": OPEN_STATUSES}}, {"_id": 1}
        )
        return [document["_id"] async for document in cursor]

    async def count_similar(
        self,
        category: Category,
        attribute: ServiceAttribute,
        value: str,
        after: datetime,
        until: datetime,
    ) -> int:
        """Tickets of the category on the same service value, created in (after, until]."""
        return await self._tickets.count_documents(
            {
                "category": category.value,
                f"affected.{attribute}": value,
                "created_at": {"$gt": after, "$lte": until},
            }
        )

    async def claim_due_timer(self, now: datetime, lease: timedelta) -> Document | None:
        """Claim one ticket whose clocks are due; the claim keeps other schedulers off it.

        The claim is a document of its own, named by the ticket and its due moment, never a
        write to the ticket: only the ticket's commands ever write it. The due clocks are a
        range on the `next_timer_at` index, so a pass reads what is due, not every ticket.
        """
        cursor = self._tickets.find(
            {"next_timer_at": {"$lte": now}},
            {"next_timer_at": 1},
            sort=[("next_timer_at", 1)],
            limit=CLAIM_CANDIDATES,
        )
        async for candidate in cursor:
            claim = f"{candidate['_id']}:{candidate['next_timer_at'].isoformat()}"
            if await self._claim(claim, now, lease):
                return candidate
        return None

    async def _claim(self, claim: str, now: datetime, lease: timedelta) -> bool:
        if self._claims is None:
            return True
        try:
            await self._claims.insert_one({"_id": claim, "until": now + lease})
        except DuplicateKeyError:
            expired = await self._claims.find_one_and_update(
                {"_id": claim, "until": {"$lte": now}}, {"$set": {"until": now + lease}}
            )
            return expired is not None
        return True
