"""Incident documents in MongoDB, each carrying its events and its own outbox.

An incident's document is `_id` (its id) and its state at the top level for reads
(incident_id, status, title, severity, scope, message, detected, update_count, declared_at,
updated_at, resolved_at, request_hash, version), every event it produced and
`outbox_pending`. See `documents` for how it is written.
"""

from services.workflow.documents import AggregateDocuments
from services.workflow.domain.incidents import Incident, IncidentDecision
from shared.incidents import IncidentStatus
from shared.mongo import Document

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
        cursor = self._documents.find(
            {"status": IncidentStatus.OPEN.value}, STATE_FIELDS, sort=[("declared_at", -1)]
        )
        return [incident_from_document(document) async for document in cursor]
