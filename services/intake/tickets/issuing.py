"""How a request becomes a command on Kafka: its id, who issued it, and the answer once sent.

A retry with the same Idempotency-Key yields the same command id, and the workflow applies a
command id once; without a key every request is a new command.
"""

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.intake.auth import Caller
from services.intake.commands import CommandBus
from services.intake.tickets.queries import Reads
from services.intake.tickets.schemas import CommandAccepted
from shared.events import Actor, Command, OpenTicket, TicketDetails

C = TypeVar("C", bound=Command)

_COMMAND_IDS = uuid.UUID("6f1f3c59-52a4-4a55-9d0b-8a3e1c4f0b7e")


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key already named a different request."""

    def __init__(self) -> None:
        super().__init__("Idempotency-Key was already used for another request")


def ticket_url(ticket_id: str) -> str:
    return f"/v1/tickets/{ticket_id}"


def command_id_for(caller_name: str, idempotency_key: str | None, route: str) -> str:
    """Deterministic for one caller's key on one route (whose path names the ticket)."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_COMMAND_IDS, f"{caller_name}\x00{idempotency_key}\x00{route}"))


def opening_command_id(ticket_id: str) -> str:
    return f"open:{ticket_id}"


def request_hash(details: TicketDetails) -> str:
    return hashlib.sha256(details.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Issuer:
    """Issues one request's command on behalf of its caller."""

    caller: Caller
    bus: CommandBus
    command_id: str
    idempotency_key: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(role=self.caller.role, name=self.caller.name)

    def command(self, command_type: type[C], ticket_id: str, **fields: Any) -> C:
        return command_type(
            command_id=self.command_id,
            issued_at=datetime.now(UTC),
            issued_by=self.actor,
            ticket_id=ticket_id,
            **fields,
        )

    async def send(self, command_type: type[C], ticket_id: str, **fields: Any) -> CommandAccepted:
        """Publish the command keyed by its ticket; returns only once Kafka acknowledged it."""
        command = self.command(command_type, ticket_id, **fields)
        await self.bus.send(command, key=ticket_id)
        return accepted(command)

    async def open_ticket(
        self, reads: Reads, ticket_id: str, details: TicketDetails, **fields: Any
    ) -> CommandAccepted:
        """Open the ticket unless it is stored already; a key reused for another report is refused.

        The workflow ignores a second OpenTicket for a stored ticket, so a retry only resends
        while the first may not have been applied yet.
        """
        opener = replace(self, command_id=opening_command_id(ticket_id))
        opening = opener.command(
            OpenTicket,
            ticket_id,
            details=details,
            request_hash=request_hash(details),
            **fields,
        )
        # Without a key the ticket id is new by construction: nothing earlier to compare with.
        keyed = self.idempotency_key is not None
        known_hash = await reads.request_hash(ticket_id) if keyed else None
        if known_hash is not None and known_hash != opening.request_hash:
            raise IdempotencyKeyReused
        if known_hash is None:
            await self.bus.send(opening, key=ticket_id)
        return accepted(opening)


def accepted(command: Command) -> CommandAccepted:
    ticket_id = command.ticket_id
    return CommandAccepted(
        ticket_id=ticket_id, command_id=command.command_id, url=ticket_url(ticket_id)
    )
