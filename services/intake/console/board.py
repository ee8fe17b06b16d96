"""What the console shows, read from the store by `_id` or by an index, always bounded.

The board is the newest open tickets of each status, one query per status on the
`(status, created_at)` index, each with a limit; afterwards tickets are read back by `_id`
as their events arrive. An incident's reach is read from the notifier's counter documents
by `_id`: the broadcast plan of each of its events, then each planned chunk's counts.
"""

import asyncio
from collections import Counter
from typing import Any

from services.intake.incidents.documents import IncidentRecord, incident_record
from services.intake.tickets.documents import TicketRecord, ticket_record
from services.intake.tickets.queries import NEWEST_FIRST, WITHOUT_HISTORY
from shared.incidents import IncidentStatus
from shared.mongo import Collections, Database, Document
from shared.vocabulary import DeliveryStatus, TicketStatus

BOARD_STATUSES = [s for s in TicketStatus if s not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)]
OPEN_INCIDENTS_SHOWN = 20
NEWEST_DECLARED_FIRST = [("declared_at", -1), ("_id", 1)]


class ConsoleReads:
    def __init__(self, database: Database, board_limit: int) -> None:
        self._tickets = database[Collections.TICKETS]
        self._incidents = database[Collections.INCIDENTS]
        self._plans = database[Collections.BROADCASTS]
        self._chunks = database[Collections.BROADCAST_CHUNKS]
        self.board_limit = board_limit

    async def board(self) -> list[TicketRecord]:
        """The newest open tickets, at most `board_limit`, newest first."""
        per_status = await asyncio.gather(*(self._newest(status) for status in BOARD_STATUSES))
        tickets = [ticket for found in per_status for ticket in found]
        tickets.sort(key=lambda ticket: ticket.created_at, reverse=True)
        return tickets[: self.board_limit]

    async def tickets(self, ticket_ids: list[str]) -> list[TicketRecord]:
        cursor = self._tickets.find({"_id": {"$in": ticket_ids}}, WITHOUT_HISTORY)
        return [ticket_record(document) async for document in cursor]

    async def open_incidents(self) -> list[tuple[IncidentRecord, dict[str, int]]]:
        """The newest open incidents, each with its notifications counted by status."""
        cursor = self._incidents.find(
            {"status": IncidentStatus.OPEN.value},
            sort=NEWEST_DECLARED_FIRST,
            limit=OPEN_INCIDENTS_SHOWN,
        )
        incidents = [incident_record(document) async for document in cursor]
        counts = await asyncio.gather(*(self._reach(incident) for incident in incidents))
        return list(zip(incidents, counts, strict=True))

    async def _newest(self, status: TicketStatus) -> list[TicketRecord]:
        cursor = self._tickets.find(
            {"status": status.value}, WITHOUT_HISTORY, sort=NEWEST_FIRST, limit=self.board_limit
        )
        return [ticket_record(document) async for document in cursor]

    async def _reach(self, incident: IncidentRecord) -> dict[str, int]:
        event_ids = [event["event_id"] for event in incident.events]
        plans = [plan async for plan in self._plans.find({"_id": {"$in": event_ids}})]
        chunk_ids = [f"{plan['_id']}:{n}" for plan in plans for n in range(plan.get("chunks", 0))]
        counted: Counter[str] = Counter()
        if chunk_ids:
            chunks = self._chunks.find({"_id": {"$in": chunk_ids}}, {"counts": 1})
            async for chunk in chunks:
                counted.update(_counts(chunk))
        by_event = {plan["_id"]: plan for plan in plans}
        planned = [by_event[event_id] for event_id in event_ids if event_id in by_event]
        latest = planned[-1] if planned else None  # whom the outage reaches now
        return {
            "affected": int(latest.get("affected_customers", 0)) if latest else 0,
            "recipients": sum(int(plan.get("recipients", 0)) for plan in plans),
            "notified": counted.total(),
            "delivered": counted[DeliveryStatus.DELIVERED.value],
            "failed": counted[DeliveryStatus.FAILED.value],
            "pending": counted[DeliveryStatus.PENDING.value],
        }


def _counts(chunk: Document) -> dict[str, int]:
    found: Any = chunk.get("counts") or {}
    return {str(status): int(count) for status, count in found.items()}
