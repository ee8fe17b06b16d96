"""Applies incident commands: load, decide in the pure core, save with the outbox, publish."""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.workflow.documents import apply_one_at_a_time, holds_event
from services.workflow.domain.incidents import IncidentDecision, decide_incident
from services.workflow.domain.tickets import event_id_for
from services.workflow.incident_store import IncidentStore, incident_from_document
from services.workflow.outbox import Outbox
from shared.incidents import AnyIncidentCommand, DeclareIncident, IncidentDeclared
from shared.logs import handling
from shared.mongo import Document

log = logging.getLogger("switchboard.workflow.incidents")


class AfterIncidentCommand(Protocol):
    """What follows once a command is applied to an incident, again on its redelivery."""

    async def incident_changed(self, command: AnyIncidentCommand, document: Document) -> None: ...


class IncidentCommands:
    def __init__(
        self,
        store: IncidentStore,
        outbox: Outbox,
        clock: Callable[[], datetime],
        after: AfterIncidentCommand | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._after = after

    async def handle(self, command: AnyIncidentCommand) -> None:
        with handling(incident_id=command.incident_id):
            document = await apply_one_at_a_time(
                self._outbox.locks, command.incident_id, lambda: self._apply(command)
            )
            if document is not None and self._after is not None:
                await self._after.incident_changed(command, document)

    async def _apply(self, command: AnyIncidentCommand) -> Document | None:
        document = await self._store.get(command.incident_id)
        if document is not None and _already_applied(document, command):
            # A redelivery: nothing to decide, only finish what a crash may have interrupted.
            await self._outbox.flush(document)
            return document
        incident = incident_from_document(document) if document else None
        decision = decide_incident(incident, command, self._clock())
        if decision.events:
            loaded_version = incident.version if incident else None
            document = await self._store.save(decision, loaded_version)
            _alert_if_detected(decision)
        if document is not None:
            await self._outbox.flush(document)
        return document


def _already_applied(document: Document, command: AnyIncidentCommand) -> bool:
    if isinstance(command, DeclareIncident):
        if document.get("request_hash") != command.request_hash:
            log.warning(
                "incident id reused by another request", extra={"incident": command.incident_id}
            )
        return True
    return holds_event(document, event_id_for(command.command_id, 0))


def _alert_if_detected(decision: IncidentDecision) -> None:
    """The operators' alert: an outage nobody declared. Its IncidentDeclared event, marked
    detected, is on the incident events topic too."""
    for event in decision.events:
        if isinstance(event, IncidentDeclared) and event.detected:
            log.warning(
                "outage detected: %s",
                event.title,
                extra={
                    "incident": event.incident_id,
                    "severity": event.severity.value,
                    "scope": event.scope.model_dump(mode="json", exclude_defaults=True),
                },
            )
