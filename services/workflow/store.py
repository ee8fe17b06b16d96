"""Ticket documents in MongoDB, each carrying its events and its own outbox.

A ticket's document is its state (the report's fields at the top level, so reads and the
call-ID index see them), every event it produced (its timeline), `outbox_pending` (ids of
events saved but not yet acknowledged by Kafka) and `next_timer_at` (when its clocks next
fire). State, events and outbox change in one single-document write, guarded by `version`:
atomic on MongoDB and FerretDB alike.
"""

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.workflow.domain.lifecycle import next_timer
from services.workflow.domain.tickets import Decision, Ticket
from shared.events import TicketDetails
from shared.mongo import Collection, Document


class ConcurrentUpdate(Exception):
    """Another writer saved this ticket since it was loaded; load it again and re-decide."""


def _state(ticket: Ticket) -> Document:
    state = ticket.model_dump(mode="python", exclude={"details"})
    return {
        **state,
        **ticket.details.model_dump(mode="python"),
        "next_timer_at": next_timer(ticket),
    }


def ticket_from_document(document: Document) -> Ticket:
    details = {name: document[name] for name in TicketDetails.model_fields if name in document}
    return Ticket.model_validate({**document, "details": details})


CLAIM_CANDIDATES = 50


class TicketStore:
    def __init__(self, tickets: Collection, timer_claims: Collection | None = None) -> None:
        self._tickets = tickets
        self._claims = timer_claims

    async def get(self, ticket_id: str) -> Document | None:
        return await self._tickets.find_one({"_id": ticket_id})

    async def save(self, decision: Decision, loaded_version: int | None) -> Document:
        """Insert a new ticket or update a loaded one; raises ConcurrentUpdate on a lost race."""
        events = [event.model_dump(mode="json") for event in decision.events]
        event_ids = [event["event_id"] for event in events]
        if loaded_version is None:
            document = {
                "_id": decision.ticket.ticket_id,
                **_state(decision.ticket),
                "events": events,
                "outbox_pending": event_ids,
            }
            try:
                await self._tickets.insert_one(document)
            except DuplicateKeyError as error:
                raise ConcurrentUpdate(decision.ticket.ticket_id) from error
            return document
        saved: Document | None = await self._tickets.find_one_and_update(
            {"_id": decision.ticket.ticket_id, "version": loaded_version},
            {
                "$set": _state(decision.ticket),
                "$push": {"events": {"$each": events}, "outbox_pending": {"$each": event_ids}},
            },
            return_document=ReturnDocument.AFTER,
        )
        if saved is None:
            raise ConcurrentUpdate(decision.ticket.ticket_id)
        return saved

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

    async def claim_due_timer(self, now: datetime, lease: timedelta) -> Document | None:
        """Claim one ticket whose clocks are due; the claim keeps other schedulers off it.

        The claim is a document of its own, named by the ticket and its due moment, never a
        write to the ticket: FerretDB's SQLite backend does not isolate concurrent updates of
        one document, so only the ticket's commands ever write it.
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


def pending_events(document: Document) -> list[Document]:
    pending = set(document.get("outbox_pending", []))
    return [event for event in document.get("events", []) if event["event_id"] in pending]
