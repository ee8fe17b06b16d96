"""Ticket documents in MongoDB, each carrying its own outbox of events not yet published."""

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.workflow.domain.tickets import Decision, Ticket
from shared.events import TicketDetails
from shared.mongo import Collection, Document

# A ticket's document: its state, every event it produced (its timeline) and `outbox_pending`,
# the ids of events saved but not yet acknowledged by Kafka. State, events and outbox change
# in one single-document write, which is atomic on MongoDB and FerretDB alike.


def _document(decision: Decision) -> Document:
    ticket = decision.ticket
    state = ticket.model_dump(mode="python", exclude={"details"})
    details = ticket.details.model_dump(mode="python")
    return {
        "_id": ticket.ticket_id,
        **state,
        **details,
        "events": [event.model_dump(mode="json") for event in decision.events],
        "outbox_pending": [event.event_id for event in decision.events],
    }


def ticket_from_document(document: Document) -> Ticket:
    details = {name: document[name] for name in TicketDetails.model_fields if name in document}
    return Ticket.model_validate({**document, "details": details})


class TicketStore:
    def __init__(self, tickets: Collection) -> None:
        self._tickets = tickets

    async def get(self, ticket_id: str) -> Document | None:
        return await self._tickets.find_one({"_id": ticket_id})

    async def create(self, decision: Decision) -> Document | None:
        """Save a new ticket with its pending events; None if it already exists."""
        document = _document(decision)
        try:
            await self._tickets.insert_one(document)
        except DuplicateKeyError:
            return None
        return document

    async def mark_published(self, ticket_id: str, event_ids: list[str]) -> None:
        await self._tickets.update_one(
            {"_id": ticket_id}, {"$pullAll": {"outbox_pending": event_ids}}
        )

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]:
        cursor = self._tickets.find(
            {"outbox_pending.0": {"$exists": True}, "updated_at": {"$lt": updated_before}},
            limit=limit,
        )
        return [document async for document in cursor]


def pending_events(document: Document) -> list[Document]:
    pending = set(document.get("outbox_pending", []))
    return [event for event in document.get("events", []) if event["event_id"] in pending]
