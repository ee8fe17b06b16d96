"""Incident documents in MongoDB, each carrying its events and its own outbox.

An incident's document is `_id` (its id) and its state at the top level for reads
(incident_id, status, title, severity, scope, message, detected, update_count, declared_at,
updated_at, resolved_at, request_hash, version), every event it produced and
`outbox_pending`. See `documents` for how it is written.
"""

from services.workflow.documents import AggregateDocuments
from services.workflow.domain.incidents import Incident, IncidentDecision
from shared.coalesce import Coalesced
from shared.incidents import IncidentStatus
from shared.mongo import Collection, Document

# What deciding about an incident reads: its state, not its events.
STATE_FIELDS = dict.fromkeys(Incident.model_fields, 1)


def _state(incident: Incident) -> Document:
    return {
        **incident.model_dump(mode="python", exclude={"scope"}),
        "scope": incident.scope.model_dump(mode="json"),
    }


def incident_from_document(document: Document) -> Incident:
    return Incident.model_validate(document)


class IncidentStore(AggregateDocuments):
    def __init__(self, documents: Collection) -> None:
        super().__init__(documents)
        self._open_incidents = Coalesced(self._read_open_incidents)

    async def save(self, decision: IncidentDecision, loaded_version: int | None) -> Document:
        """Insert a new incident or update a loaded one; ConcurrentUpdate on a lost race."""
        incident = decision.incident
        return await self._save(
            incident.incident_id, _state(incident), decision.events, loaded_version
        )

    async def incident(self, incident_id: str) -> Incident | None:
        document = await self._documents.find_one({"_id": incident_id}, STATE_FIELDS)
        return incident_from_document(document) if document else None

    async def open_incidents(self) -> list[Incident]:
        """Every ticket opened asks: the tickets of a batch that ask at once share one read."""
        return await self._open_incidents(None)

    async def _read_open_incidents(self, callers: list[None]) -> list[list[Incident]]:
        cursor = self._documents.find(
            {"status": IncidentStatus.OPEN.value}, STATE_FIELDS, sort=[("declared_at", -1)]
        )
        incidents = [incident_from_document(document) async for document in cursor]
        return [incidents for _ in callers]
