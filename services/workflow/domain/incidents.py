"""The incident aggregate: an outage declared, updated and resolved, decided purely."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.workflow.domain.tickets import event_id_for
from shared.errors import DomainError, UnprocessableMessage
from shared.incidents import (
    AnyIncidentCommand,
    DeclareIncident,
    IncidentDeclared,
    IncidentEvent,
    IncidentResolved,
    IncidentScope,
    IncidentStatus,
    IncidentUpdated,
    ResolveIncident,
    Severity,
    UpdateIncident,
)
from shared.vocabulary import IncidentId


class IncidentResolvedError(DomainError):
    """The incident is over: it takes no more updates; a new outage is a new incident."""


class Incident(BaseModel):
    """An incident's current state; the stored document is this plus its events."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    incident_id: IncidentId
    version: int
    status: IncidentStatus
    title: str
    severity: Severity
    scope: IncidentScope
    message: str  # the latest word to the customers: declaration, update or resolution
    detected: bool
    update_count: int = 0
    declared_at: AwareDatetime
    updated_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    request_hash: str


@dataclass(frozen=True, slots=True)
class IncidentDecision:
    incident: Incident
    events: tuple[IncidentEvent, ...]


def decide_incident(
    incident: Incident | None, command: AnyIncidentCommand, now: datetime
) -> IncidentDecision:
    """The new state and the events a command produces; raises a DomainError to refuse it."""
    if isinstance(command, DeclareIncident):
        if incident is not None:  # declared already: a redelivery or a retried request
            return IncidentDecision(incident, ())
        return _declare(command, now)
    if incident is None:
        raise UnprocessableMessage(f"{command.type} for unknown incident {command.incident_id}")
    if incident.status is IncidentStatus.RESOLVED:
        raise IncidentResolvedError(f"incident {incident.incident_id} is resolved already")
    if isinstance(command, UpdateIncident):
        return _update(incident, command, now)
    return _resolve(incident, command, now)


def _declare(command: DeclareIncident, now: datetime) -> IncidentDecision:
    incident = Incident(
        incident_id=command.incident_id,
        version=1,
        status=IncidentStatus.OPEN,
        title=command.title,
        severity=command.severity,
        scope=command.scope,
        message=command.message,
        detected=command.detected,
        declared_at=now,
        updated_at=now,
        request_hash=command.request_hash,
    )
    return _decided(incident, command, now, IncidentDeclared, detected=command.detected)


def _update(incident: Incident, command: UpdateIncident, now: datetime) -> IncidentDecision:
    updated = _next_version(
        incident,
        now,
        severity=command.severity or incident.severity,
        message=command.message,
        update_count=incident.update_count + 1,
    )
    return _decided(updated, command, now, IncidentUpdated, update_number=updated.update_count)


def _resolve(incident: Incident, command: ResolveIncident, now: datetime) -> IncidentDecision:
    resolved = _next_version(
        incident, now, status=IncidentStatus.RESOLVED, message=command.message, resolved_at=now
    )
    return _decided(resolved, command, now, IncidentResolved)


def _decided(
    incident: Incident,
    command: AnyIncidentCommand,
    now: datetime,
    event_type: type[IncidentEvent],
    **fields: Any,
) -> IncidentDecision:
    """The incident one version on, and the one event that says what happened to it."""
    event = event_type(
        event_id=event_id_for(command.command_id, 0),
        occurred_at=now,
        incident_id=incident.incident_id,
        actor=command.issued_by,
        reason=command.reason,
        title=incident.title,
        severity=incident.severity,
        scope=incident.scope,
        message=incident.message,
        **fields,
    )
    return IncidentDecision(incident, (event,))


def _next_version(incident: Incident, now: datetime, **changes: Any) -> Incident:
    return incident.model_copy(
        update={**changes, "version": incident.version + 1, "updated_at": now}
    )
