"""Applies ticket commands: load, decide in the pure core, save with the outbox, publish."""

import logging
from collections.abc import Callable
from datetime import datetime

from services.workflow.domain.rules import Rules
from services.workflow.domain.tickets import open_ticket
from services.workflow.outbox import Outbox
from services.workflow.store import TicketStore
from shared.events import OpenTicket

log = logging.getLogger("switchboard.workflow")


class TicketCommands:
    def __init__(
        self, store: TicketStore, outbox: Outbox, rules: Rules, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._rules = rules
        self._clock = clock

    async def open(self, command: OpenTicket) -> None:
        document = await self._store.get(command.ticket_id)
        if document is None:
            decision = open_ticket(command, self._clock(), self._rules)
            document = await self._store.create(decision) or await self._store.get(
                command.ticket_id
            )
        elif document.get("request_hash") != command.request_hash:
            log.warning("ticket id reused by another request", extra={"ticket": command.ticket_id})
        if document is not None:
            # Also finishes the publishing a crash interrupted, for a redelivered command.
            await self._outbox.flush(document)
