"""The finds the services make, recorded from their own code, to time and explain them.

A service's read (intake's `Reads`, the workflow's `TicketStore`) is run against a stand-in
database that records the find it asks for and finds nothing; the bench then runs that very
find (filter, projection, sort, limit) on the store. A query changed in a service is the
query measured, with no copy here to fall behind.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bench.store_documents import History, call_id, customer_id
from services.intake.auth import Caller
from services.intake.tickets.queries import Reads
from services.intake.tickets.schemas import TicketFilters
from services.workflow.settings import WorkflowSettings
from services.workflow.store import TicketStore
from shared.mongo import Collections, Database, Document
from shared.vocabulary import Role, TicketStatus

Read = Callable[[Database], Awaitable[object]]  # a service's read, given the database

LIST_LIMIT: int = TicketFilters.model_fields["limit"].default  # intake's page: 50
RELAY_LIMIT = 500  # what the outbox relay asks for in one pass (OutboxRelay.relay_once)
RELAY_GRACE = timedelta(seconds=WorkflowSettings.model_fields["relay_grace_s"].default)
LEASE = timedelta(minutes=1)  # the scheduler's claim: never taken here, nothing is found
AGENT_CALLER = Caller(name="bench-agent", role=Role.AGENT)
# The queues agents list: every status but the one almost all of history is in.
QUEUES = [status for status in TicketStatus if status is not TicketStatus.CLOSED]


@dataclass(frozen=True)
class Find:
    """One `find` a service asked of a collection, as it passed it."""

    collection: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def explain(self) -> Document:
        """The `find` command to `explain`: filter, sort and limit."""
        command: Document = {"find": self.collection, "filter": self.args[0]}
        if self.kwargs.get("sort"):
            command["sort"] = dict(self.kwargs["sort"])
        if self.kwargs.get("limit"):
            command["limit"] = self.kwargs["limit"]
        return command


async def recorded(read: Read) -> Find:
    """The find `read` makes (its first)."""
    database = _Recording()
    await read(cast(Database, database))
    if not database.finds:
        raise LookupError("the read made no find")
    return database.finds[0]


def lookup_reads(history: History, draw: random.Random) -> dict[str, Read]:
    """intake's lists, each with fresh random ids every time it is run: a ticket by call id,
    a customer's tickets, a queue (any status but closed), the closed tickets (almost all of
    history), a customer's notifications."""

    def customer() -> str:
        return customer_id(draw.randrange(history.customers))

    def own_key() -> Caller:  # a customer's own key: intake scopes the list to its tickets
        return Caller("bench-customer", Role.CUSTOMER, customer())

    def tickets(filters: Callable[[], TicketFilters], caller: Callable[[], Caller]) -> Read:
        return lambda database: Reads(database).tickets(filters(), caller())

    def agent() -> Caller:
        return AGENT_CALLER

    return {
        "lookup_call_id": tickets(
            lambda: TicketFilters(call_id=call_id(draw.randrange(history.size))), agent
        ),
        "lookup_customer_tickets": tickets(TicketFilters, own_key),
        "lookup_status": tickets(lambda: TicketFilters(status=[draw.choice(QUEUES)]), agent),
        "lookup_closed": tickets(lambda: TicketFilters(status=[TicketStatus.CLOSED]), agent),
        "lookup_customer_notifications": lambda database: Reads(database).notifications(
            customer(), LIST_LIMIT
        ),
    }


def due_reads() -> dict[str, Read]:
    """The scheduler's look for due clocks (the candidates TicketStore.claim_due_timer
    reads) and the outbox relay's for events a crash left pending."""

    def tickets(database: Database) -> TicketStore:
        return TicketStore(database[Collections.TICKETS])

    return {
        "due_timers": lambda database: tickets(database).claim_due_timer(datetime.now(UTC), LEASE),
        "due_outbox": lambda database: tickets(database).with_pending_events(
            datetime.now(UTC) - RELAY_GRACE, RELAY_LIMIT
        ),
    }


class _Recording:
    """Stands in for a database: hands out collections that record finds."""

    def __init__(self) -> None:
        self.finds: list[Find] = []

    def __getitem__(self, name: str) -> _RecordingCollection:
        return _RecordingCollection(name, self.finds)


class _RecordingCollection:
    def __init__(self, name: str, finds: list[Find]) -> None:
        self.name = name
        self._finds = finds

    def find(self, *args: Any, **kwargs: Any) -> _Nothing:
        self._finds.append(Find(self.name, args, kwargs))
        return _Nothing()


class _Nothing:
    """A cursor over no documents."""

    def __aiter__(self) -> _Nothing:
        return self

    async def __anext__(self) -> Document:
        raise StopAsyncIteration

    async def to_list(self) -> list[Document]:
        return []
