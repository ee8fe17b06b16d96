"""Applies ticket commands: load, decide in the pure core, save with the outbox, publish."""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.workflow.documents import ATTEMPTS_ON_CONFLICT, apply_one_at_a_time, holds_event
from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules
from services.workflow.domain.tickets import event_id_for
from services.workflow.outbox import Outbox, SentInBatch
from services.workflow.store import TicketStore, ticket_from_document
from shared.batches import in_order_per_key
from shared.events import OpenTicket, TicketCommand
from shared.logs import handling
from shared.mongo import Document
from shared.tracing import Tracing

__all__ = ["ATTEMPTS_ON_CONFLICT", "AfterTicketCommand", "TicketCommands"]

log = logging.getLogger("switchboard.workflow")


class AfterTicketCommand(Protocol):
    """What follows once a command is applied to a ticket, again on its redelivery."""

    async def ticket_changed(self, command: TicketCommand, document: Document) -> None: ...


TICKETS_AT_ONCE = 64  # tickets of one consumed batch handled side by side


class CommandBatch:
    """What the commands of one consumed batch share: the tickets read for them at its start
    (None for those not there yet), the events they sent, and what each command left.

    A ticket read for the batch serves its next command once; the document that command
    left serves the one after. After a lost race the ticket is read again from the store.
    """

    def __init__(
        self,
        ticket_ids: Iterable[str],
        found: Mapping[str, Document],
        headers: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._documents = {ticket_id: found.get(ticket_id) for ticket_id in ticket_ids}
        self.sent = SentInBatch()
        self.applied: list[tuple[TicketCommand, Document]] = []
        self.headers = headers or {}  # each command's Kafka headers, by command id, if traced

    def take(self, ticket_id: str) -> tuple[bool, Document | None]:
        """(True, the ticket or None if it does not exist), or (False, None) if not read."""
        if ticket_id not in self._documents:
            return False, None
        return True, self._documents.pop(ticket_id)

    def keep(self, command: TicketCommand, document: Document) -> None:
        """The document the command left: for the ticket's next command, and what follows."""
        self._documents[document["_id"]] = document
        self.applied.append((command, document))


def _ticket_of(command: TicketCommand) -> str:
    return command.ticket_id


class TicketCommands:
    def __init__(
        self,
        store: TicketStore,
        outbox: Outbox,
        rules: Rules,
        clock: Callable[[], datetime],
        after: AfterTicketCommand | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing or Tracing.off()
        self._store = store
        self._outbox = outbox
        self._rules = rules
        self._clock = clock
        self._after = after

    async def handle_batch(
        self, commands: Sequence[TicketCommand], headers: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """A consumed batch: its tickets read in one go, handled side by side (each ticket's
        commands in order), the events they sent marked in one write; then what follows.

        With tracing on, each command is applied in a span continuing the trace its message's
        `headers` carry (the batch's own span only links them)."""
        ticket_ids = {command.ticket_id for command in commands}
        traced = (
            {c.command_id: h for c, h in zip(commands, headers, strict=False)}
            if self._tracing.enabled
            else None
        )
        batch = CommandBatch(ticket_ids, await self._store.get_many(ticket_ids), traced)
        try:
            await in_order_per_key(
                commands, _ticket_of, lambda c: self._apply_alone(c, batch), TICKETS_AT_ONCE
            )
        finally:  # what was sent is marked even if a command failed: the relay need not
            await self._store.mark_published_many(batch.sent.events)
        if self._after is not None:
            after = self._after
            await in_order_per_key(
                batch.applied,
                lambda applied: applied[0].ticket_id,
                lambda applied: after.ticket_changed(*applied),
                TICKETS_AT_ONCE,
            )

    async def handle(self, command: TicketCommand) -> None:
        document = await self._apply_alone(command, None)
        # Outside the ticket's lock: what follows may come back to this very ticket.
        if document is not None and self._after is not None:
            await self._after.ticket_changed(command, document)

    async def _apply_alone(
        self, command: TicketCommand, batch: CommandBatch | None
    ) -> Document | None:
        """Under the ticket's lock; decided again if another writer won a race."""
        with (
            self._tracing.span(
                f"{command.type} apply",
                parent=batch.headers.get(command.command_id) if batch else None,
                attributes={"switchboard.ticket_id": command.ticket_id},
            ),
            handling(ticket_id=command.ticket_id),
        ):
            return await apply_one_at_a_time(
                self._outbox.locks, command.ticket_id, lambda: self._apply(command, batch)
            )

    async def _apply(self, command: TicketCommand, batch: CommandBatch | None) -> Document | None:
        document = await self._load(command.ticket_id, batch)
        sent = batch.sent if batch else None
        if document is not None and _already_applied(document, command):
            # A redelivery: nothing to decide, only finish what a crash may have interrupted.
            await self._outbox.flush(document, sent)
        else:
            ticket = ticket_from_document(document) if document else None
            decision = decide(ticket, command, self._clock(), self._rules)
            if decision.events:
                loaded_version = ticket.version if ticket else None
                document = await self._store.save(decision, loaded_version)
                log.debug(
                    "ticket command applied",
                    extra={
                        "command": command.type,
                        "events": [type(e).__name__ for e in decision.events],
                    },
                )
            if document is not None:
                await self._outbox.flush(document, sent)
        if batch is not None and document is not None:
            batch.keep(command, document)
        return document

    async def _load(self, ticket_id: str, batch: CommandBatch | None) -> Document | None:
        read, document = batch.take(ticket_id) if batch else (False, None)
        return document if read else await self._store.get(ticket_id)


def _already_applied(document: Document, command: TicketCommand) -> bool:
    if isinstance(command, OpenTicket):
        if document.get("request_hash") != command.request_hash:
            log.warning("ticket id reused by another request", extra={"ticket": command.ticket_id})
        return True
    return holds_event(document, event_id_for(command.command_id, 0))
