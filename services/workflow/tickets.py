"""Applies ticket commands: load, decide in the pure core, save with the outbox, publish."""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.workflow.documents import ATTEMPTS_ON_CONFLICT, apply_one_at_a_time, holds_event
from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules
from services.workflow.domain.tickets import event_id_for
from services.workflow.outbox import Outbox
from services.workflow.store import TicketStore, ticket_from_document
from shared.events import OpenTicket, TicketCommand
from shared.mongo import Document

__all__ = ["ATTEMPTS_ON_CONFLICT", "AfterTicketCommand", "TicketCommands"]

log = logging.getLogger("switchboard.workflow")


class AfterTicketCommand(Protocol):
    """What follows once a command is applied to a ticket, again on its redelivery."""

    async def ticket_changed(self, command: TicketCommand, document: Document) -> None: ...


class TicketCommands:
    def __init__(
        self,
        store: TicketStore,
        outbox: Outbox,
        rules: Rules,
        clock: Callable[[], datetime],
        after: AfterTicketCommand | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._rules = rules
        self._clock = clock
        self._after = after

    async def handle(self, command: TicketCommand) -> None:
        document = await apply_one_at_a_time(
            self._outbox.locks, command.ticket_id, lambda: self._apply(command)
        )
        # Outside the ticket's lock: what follows may come back to this very ticket.
        if document is not None and self._after is not None:
            await self._after.ticket_changed(command, document)

    async def _apply(self, command: TicketCommand) -> Document | None:
        document = await self._store.get(command.ticket_id)
        if document is not None and _already_applied(document, command):
            # A redelivery: nothing to decide, only finish what a crash may have interrupted.
            await self._outbox.flush(document)
            return document
        ticket = ticket_from_document(document) if document else None
        decision = decide(ticket, command, self._clock(), self._rules)
        if decision.events:
            loaded_version = ticket.version if ticket else None
            document = await self._store.save(decision, loaded_version)
        if document is not None:
            await self._outbox.flush(document)
        return document


def _already_applied(document: Document, command: TicketCommand) -> bool:
    if isinstance(command, OpenTicket):
        if document.get("request_hash") != command.request_hash:
            log.warning("ticket id reused by another request", extra={"ticket": command.ticket_id})
        return True
    return holds_event(document, event_id_for(command.command_id, 0))
