"""Reads of incidents for the HTTP API, and the live counts of each incident's reach.

The notification counts are kept by the notifier as it goes, per broadcast chunk and status
(`counts` on each chunk's progress record); a read sums an incident's chunks, a few hundred
small documents for 100,000 customers, and never counts the notifications themselves.
"""

import asyncio
from collections import Counter

from services.intake.incidents.documents import (
    BroadcastRecord,
    IncidentRecord,
    StatusCount,
    broadcast_counts,
    broadcast_record,
    incident_record,
    incident_view,
)
from services.intake.incidents.schemas import IncidentFilters, IncidentView
from services.intake.tickets.documents import TicketRecord, ticket_record
from services.intake.tickets.queries import NEWEST_FIRST, WITHOUT_HISTORY
from shared.customers import Services
from shared.incidents import IncidentStatus
from shared.mongo import Collections, Database, Document

NEWEST_DECLARED_FIRST = [("declared_at", -1), ("_id", 1)]
# Open incidents are few; a customer's are found among at most this many.
OPEN_INCIDENTS_SCANNED = 1_000


def incident_query(status: IncidentStatus | None) -> Document:
    return {"status": status.value} if status is not None else {}


class IncidentReads:
    def __init__(self, database: Database) -> None:
        self._incidents = database[Collections.INCIDENTS]
        self._tickets = database[Collections.TICKETS]
        self._broadcasts = database[Collections.BROADCASTS]
        self._chunks = database[Collections.BROADCAST_CHUNKS]

    async def incident(self, incident_id: str, history: bool = False) -> IncidentRecord | None:
        projection = None if history else {"events": 0}
        document = await self._incidents.find_one({"_id": incident_id}, projection)
        return incident_record(document) if document else None

    async def request_hash(self, incident_id: str) -> str | None:
        document = await self._incidents.find_one({"_id": incident_id}, {"request_hash": 1})
        return document.get("request_hash") if document else None

    async def incidents(self, filters: IncidentFilters) -> list[IncidentRecord]:
        return await self._find(incident_query(filters.status), filters.limit)

    async def affecting(
        self, customer_id: str, services: Services, filters: IncidentFilters
    ) -> list[IncidentRecord]:
        """The customer's incidents: named in the scope, or sharing one of its services."""
        status = filters.status or IncidentStatus.OPEN
        candidates = await self._find(incident_query(status), OPEN_INCIDENTS_SCANNED)
        return [i for i in candidates if i.affects(customer_id, services)][: filters.limit]

    async def linked_tickets(self, incident_id: str, limit: int) -> list[TicketRecord]:
        query = {"incident_id": incident_id}
        cursor = self._tickets.find(query, WITHOUT_HISTORY, sort=NEWEST_FIRST, limit=limit)
        return [ticket_record(document) async for document in cursor]

    async def with_reach(self, incident_id: str) -> IncidentView | None:
        """The incident with its timeline, linked tickets and broadcasts' counts, read now."""
        incident = await self.incident(incident_id, history=True)
        if incident is None:
            return None
        linked, broadcasts, counted = await asyncio.gather(
            self._tickets.count_documents({"incident_id": incident.incident_id}),
            self._broadcasts_of(incident.incident_id),
            self._notification_counts(incident.incident_id),
        )
        return incident_view(incident, linked, broadcast_counts(incident, broadcasts, counted))

    async def _find(self, query: Document, limit: int) -> list[IncidentRecord]:
        cursor = self._incidents.find(query, {"events": 0}, sort=NEWEST_DECLARED_FIRST, limit=limit)
        return [incident_record(document) async for document in cursor]

    async def _broadcasts_of(self, incident_id: str) -> list[BroadcastRecord]:
        cursor = self._broadcasts.find({"incident_id": incident_id}, sort=[("planned_at", 1)])
        return [broadcast_record(document) async for document in cursor]

    async def _notification_counts(self, incident_id: str) -> list[StatusCount]:
        """The chunks' counts summed per event and status."""
        cursor = self._chunks.find({"incident_id": incident_id}, {"event_id": 1, "counts": 1})
        summed: Counter[tuple[str, str]] = Counter()
        async for chunk in cursor:
            for status, count in (chunk.get("counts") or {}).items():
                summed[chunk["event_id"], status] += count
        return [
            {"_id": {"event_id": event_id, "status": status}, "count": count}
            for (event_id, status), count in summed.items()
        ]
