"""Reads for the HTTP API, straight from MongoDB, always scoped to what the caller may see.

Every filter is an equality or a range on a validated value, so no caller input ever becomes a
query operator; every filter here is served by an index declared in `shared.mongo`, on
MongoDB and on the embedded store alike (tests/store checks each with `explain`).
"""

from datetime import datetime

from services.intake.auth import Caller
from services.intake.customers.schemas import NotificationView
from services.intake.tickets.documents import (
    TicketRecord,
    TimelineItem,
    deliveries_for,
    merged_timeline,
    ticket_record,
    timeline_for,
)
from services.intake.tickets.schemas import TicketFilters
from shared.coalesce import CoalescedFinds
from shared.mongo import Collections, Database, Document
from shared.vocabulary import Channel, Role

NEWEST_FIRST = [("created_at", -1)]
# The in-app feed's order: creation time, ties broken by id, so a position is exact.
FEED_ORDER = [("created_at", 1), ("_id", 1)]
FeedPosition = tuple[datetime, str]  # (created_at, notification id) of the last one seen
WITHOUT_HISTORY = {"events": 0, "outbox_pending": 0, "deliveries": 0}


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
        self._deliveries = database[Collections.TICKET_DELIVERIES]
        # Asked by every POST with an Idempotency-Key: the POSTs of a busy moment, one read.
        self._request_hashes = CoalescedFinds(self._tickets, {"request_hash": 1})

    async def ticket(self, ticket_id: str, caller: Caller) -> TicketRecord | None:
        query = {"_id": ticket_id, **_scope(caller)}
        document = await self._tickets.find_one(query, WITHOUT_HISTORY)
        return ticket_record(document) if document else None

    async def request_hash(self, ticket_id: str) -> str | None:
        document = await self._request_hashes.find_one(ticket_id)
        return document.get("request_hash") if document else None

    async def tickets(self, filters: TicketFilters, caller: Caller) -> list[TicketRecord]:
        query = ticket_query(filters, caller)
        if query is None:
            return []
        cursor = self._tickets.find(query, WITHOUT_HISTORY, sort=NEWEST_FIRST, limit=filters.limit)
        return [ticket_record(document) async for document in cursor]

    async def timeline(self, ticket_id: str, caller: Caller) -> list[TimelineItem] | None:
        query = {"_id": ticket_id, **_scope(caller)}
        document = await self._tickets.find_one(query, {"events": 1})
        if document is None:
            return None
        cursor = self._deliveries.find({"ticket_id": ticket_id}, sort=[("occurred_at", 1)])
        deliveries = [record async for record in cursor]
        return merged_timeline(
            timeline_for(caller, document.get("events", [])), deliveries_for(caller, deliveries)
        )

    async def notifications(self, customer_id: str, limit: int) -> list[NotificationView]:
        cursor = self._notifications.find(
            {"customer_id": customer_id}, sort=NEWEST_FIRST, limit=limit
        )
        return [
            NotificationView.model_validate({**document, "notification_id": document["_id"]})
            async for document in cursor
        ]

    async def in_app_position(
        self, customer_id: str, last_seen_id: str | None
    ) -> FeedPosition | None:
        """Where a follower of the in-app feed resumes: after the one it saw last, else after
        the newest; None when the customer has none yet."""
        feed = _in_app_feed(customer_id)
        found = None
        if last_seen_id is not None:
            found = await self._notifications.find_one({**feed, "_id": last_seen_id})
        if found is None:
            newest_first = [(field, -direction) for field, direction in FEED_ORDER]
            found = await self._notifications.find_one(feed, sort=newest_first)
        return (found["created_at"], found["_id"]) if found else None

    async def in_app_notifications_after(
        self, customer_id: str, position: FeedPosition | None, limit: int
    ) -> list[NotificationView]:
        """The customer's in-app notifications after `position`, oldest first."""
        query = _in_app_feed(customer_id)
        if position is not None:
            created_at, notification_id = position
            query["$or"] = [
                {"created_at": {"$gt": created_at}},
                {"created_at": created_at, "_id": {"$gt": notification_id}},
            ]
        cursor = self._notifications.find(query, sort=FEED_ORDER, limit=limit)
        return [
            NotificationView.model_validate({**document, "notification_id": document["_id"]})
            async for document in cursor
        ]


def _in_app_feed(customer_id: str) -> Document:
    return {"customer_id": customer_id, "channel": Channel.IN_APP.value}
