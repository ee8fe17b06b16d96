"""Applies ticket commands: load, decide in the pure core, save with the outbox, publish."""

import logging
from collections.abc import Callable
from datetime import datetime

from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules
from services.workflow.domain.tickets import event_id_for
from services.workflow.outbox import Outbox
from services.workflow.store import ConcurrentUpdate, TicketStore, ticket_from_document
from shared.events import OpenTicket, TicketCommand

log = logging.getLogger("switchboard.workflow")

ATTEMPTS_ON_CONFLICT = 3


class TicketCommands:
    def __init__(
        self, store: TicketStore, outbox: Outbox, rules: Rules, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._rules = rules
        self._clock = clock

    async def handle(self, command: TicketCommand) -> None:
        for attempt in range(1, ATTEMPTS_ON_CONFLICT + 1):
            try:
                async with self._outbox.locks.hold(command.ticket_id):
                    await self._apply(command)
            except ConcurrentUpdate:
                if attempt == ATTEMPTS_ON_CONFLICT:
                    raise
                log.info(
                    "ticket changed meanwhile; deciding again", extra={"ticket": command.ticket_id}
                )
            else:
                return

    async def _apply(self, command: TicketCommand) -> None:
        document = await self._store.get(command.ticket_id)
        if document is not None and _already_applied(document, command):
            # A redelivery: nothing to decide, only finish what a crash may have interrupted.
            await self._outbox.flush(document)
            return
        ticket = ticket_from_document(document) if document else None
        decision = decide(ticket, command, self._clock(), self._rules)
        if decision.events:
            loaded_version = ticket.version if ticket else None
            document = await self._store.save(decision, loaded_version)
        if document is not None:
            await self._outbox.flush(document)


def _already_applied(document: dict[str, object], command: TicketCommand) -> bool:
    if isinstance(command, OpenTicket):
        if document.get("request_hash") != command.request_hash:
            log.warning("ticket id reused by another request", extra={"ticket": command.ticket_id})
        return True
    first_event = event_id_for(command.command_id, 0)
    events = document.get("events", [])
    return isinstance(events, list) and any(e.get("event_id") == first_event for e in events)
