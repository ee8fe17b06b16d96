"""Reads for the HTTP API, straight from MongoDB, always scoped to what the caller may see.

Every filter is an equality or a range on a validated value, so no caller input ever becomes a
query operator; and every operator used here works on MongoDB and FerretDB alike.
"""

from services.intake.auth import Caller
from services.intake.documents import TicketRecord, ticket_record, timeline_for
from services.intake.schemas import NotificationView, TicketFilters
from shared.events import TicketEvent
from shared.mongo import Collections, Database, Document
from shared.vocabulary import Role

NEWEST_FIRST = [("created_at", -1)]
WITHOUT_HISTORY = {"events": 0, "outbox_pending": 0}


def _scope(caller: Caller) -> Document:
    return {"customer_id": caller.customer_id} if caller.role is Role.CUSTOMER else {}


def ticket_query(filters: TicketFilters, caller: Caller) -> Document | None:
    """The query for a filtered list; None when the filters ask for what the caller may not see."""
    query = {**_matching(filters), **_breached(filters.breached)}
    if filters.due_before is not None:
        query["next_timer_at"] = {"$lte": filters.due_before}
    if caller.role is Role.CUSTOMER:
        if filters.customer_id not in (None, caller.customer_id):
            return None
        query.update(_scope(caller))
    return query


def _matching(filters: TicketFilters) -> Document:
    statuses = [status.value for status in filters.status]
    wanted = {
        "status": statuses[0] if len(statuses) == 1 else None,
        "teams": filters.team.value if filters.team else None,  # owning or involved
        "priority": filters.priority.value if filters.priority else None,
        "call_ids": filters.call_id,
        "customer_id": filters.customer_id,
    }
    query: Document = {field: value for field, value in wanted.items() if value is not None}
    if len(statuses) > 1:
        query["status"] = {"$in": statuses}
    return query


def _breached(breached: bool | None) -> Document:
    flags = ["clocks.first_response_breached", "clocks.resolution_breached"]
    if breached is None:
        return {}
    if breached:
        return {"$or": [{flag: True} for flag in flags]}
    return {flag: {"$ne": True} for flag in flags}


class Reads:
    def __init__(self, database: Database) -> None:
        self._tickets = database[Collections.TICKETS]
        self._notifications = database[Collections.NOTIFICATIONS]

    async def ticket(self, ticket_id: str, caller: Caller) -> TicketRecord | None:
        query = {"_id": ticket_id, **_scope(caller)}
        document = await self._tickets.find_one(query, WITHOUT_HISTORY)
        return ticket_record(document) if document else None

    async def request_hash(self, ticket_id: str) -> str | None:
        document = await self._tickets.find_one({"_id": ticket_id}, {"request_hash": 1})
        return document.get("request_hash") if document else None

    async def tickets(self, filters: TicketFilters, caller: Caller) -> list[TicketRecord]:
        query = ticket_query(filters, caller)
        if query is None:
            return []
        cursor = self._tickets.find(query, WITHOUT_HISTORY, sort=NEWEST_FIRST, limit=filters.limit)
        return [ticket_record(document) async for document in cursor]

    async def timeline(self, ticket_id: str, caller: Caller) -> list[TicketEvent] | None:
        query = {"_id": ticket_id, **_scope(caller)}
        document = await self._tickets.find_one(query, {"events": 1})
        return timeline_for(caller, document.get("events", [])) if document else None

    async def notifications(self, customer_id: str, limit: int) -> list[NotificationView]:
        cursor = self._notifications.find(
            {"customer_id": customer_id}, sort=NEWEST_FIRST, limit=limit
        )
        return [
            NotificationView.model_validate({**document, "notification_id": document["_id"]})
            async for document in cursor
        ]
