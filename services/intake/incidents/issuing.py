"""How an operator's request becomes an incident command on Kafka, and the answer once sent.

Declaring mirrors opening a ticket: the incident id comes from the caller and its
Idempotency-Key, the command id from the incident, so a retry names the same incident and the
workflow declares it once; the same key with another declaration is refused.
"""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.intake.incidents.queries import IncidentReads
from services.intake.incidents.schemas import DeclarationRequest, IncidentAccepted
from services.intake.tickets.issuing import IdempotencyKeyReused, Issuer
from shared.incidents import DeclareIncident, IncidentCommand, IncidentScope

IC = TypeVar("IC", bound=IncidentCommand)


def incident_url(incident_id: str) -> str:
    return f"/v1/incidents/{incident_id}"


def declaring_command_id(incident_id: str) -> str:
    return f"declare:{incident_id}"


def declaration_hash(declaration: DeclarationRequest) -> str:
    return hashlib.sha256(declaration.model_dump_json().encode()).hexdigest()


def incident_command(issuer: Issuer, command_type: type[IC], incident_id: str, **fields: Any) -> IC:
    return command_type(
        command_id=issuer.command_id,
        issued_at=datetime.now(UTC),
        issued_by=issuer.actor,
        incident_id=incident_id,
        **fields,
    )


async def send_to_incident(
    issuer: Issuer, command_type: type[IncidentCommand], incident_id: str, **fields: Any
) -> IncidentAccepted:
    """Publish the command keyed by its incident; returns only once Kafka acknowledged it."""
    command = incident_command(issuer, command_type, incident_id, **fields)
    await issuer.bus.send(command, key=incident_id)
    return incident_accepted(command)


async def declare_incident(
    issuer: Issuer, incidents: IncidentReads, incident_id: str, declaration: DeclarationRequest
) -> IncidentAccepted:
    """Declare the incident unless it is stored already; a key reused for another is refused."""
    declaring = replace(issuer, command_id=declaring_command_id(incident_id))
    command = incident_command(
        declaring,
        DeclareIncident,
        incident_id,
        title=declaration.title,
        severity=declaration.severity,
        scope=IncidentScope.model_validate(declaration.scope.model_dump()),
        message=declaration.message,
        request_hash=declaration_hash(declaration),
    )
    known_hash = await incidents.request_hash(incident_id)
    if known_hash is not None and known_hash != command.request_hash:
        raise IdempotencyKeyReused
    if known_hash is None:
        await issuer.bus.send(command, key=incident_id)
    return incident_accepted(command)


def incident_accepted(command: IncidentCommand) -> IncidentAccepted:
    return IncidentAccepted(
        incident_id=command.incident_id,
        command_id=command.command_id,
        status_url=incident_url(command.incident_id),
    )
