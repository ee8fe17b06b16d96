"""Reads for the HTTP API, straight from MongoDB, always scoped to what the caller may see."""

from services.intake.auth import Caller
from services.intake.schemas import NotificationView, TicketView
from shared.mongo import Collections, Database, Document
from shared.vocabulary import Role


def _scope(caller: Caller) -> Document:
    return {"customer_id": caller.customer_id} if caller.role is Role.CUSTOMER else {}


def _ticket_view(document: Document) -> TicketView:
    return TicketView.model_validate({**document, "ticket_id": document["_id"]})


class Reads:
    def __init__(self, database: Database) -> None:
        self._tickets = database[Collections.TICKETS]
        self._notifications = database[Collections.NOTIFICATIONS]

    async def ticket(self, ticket_id: str, caller: Caller) -> TicketView | None:
        document = await self._tickets.find_one({"_id": ticket_id, **_scope(caller)})
        return _ticket_view(document) if document else None

    async def request_hash(self, ticket_id: str) -> str | None:
        document = await self._tickets.find_one({"_id": ticket_id}, {"request_hash": 1})
        return document.get("request_hash") if document else None

    async def tickets_by_call(self, call_id: str, caller: Caller, limit: int) -> list[TicketView]:
        cursor = self._tickets.find(
            {"call_ids": call_id, **_scope(caller)}, sort=[("created_at", -1)], limit=limit
        )
        return [_ticket_view(document) async for document in cursor]

    async def notifications(self, customer_id: str, limit: int) -> list[NotificationView]:
        cursor = self._notifications.find(
            {"customer_id": customer_id}, sort=[("created_at", -1)], limit=limit
        )
        return [
            NotificationView.model_validate({**document, "notification_id": document["_id"]})
            async for document in cursor
        ]
