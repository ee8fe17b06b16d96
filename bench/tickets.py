"""Tickets through the running platform: POST load at intake, and waiting for notifications.

Notifications are found by `_id`, the cheapest lookup there is, so that polling for them
loads the server being measured as little as possible. The in-app
notification's id is derived the way the notifier derives it, from the `TicketOpened` event
id that the ticket document (also read by `_id`) carries.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bench.stats import Sample, closed_loop
from shared.mongo import Collections, Database, Document
from shared.vocabulary import Channel, notification_id

E2E_POLL_S = 0.01  # resolution of the observed end-to-end latency
DRAIN_POLL_S = 0.2  # the drain is timed by the notifier's own stamps, so poll gently
FALLBACK_AFTER_S = 20.0  # a ticket not found by predicted id this long: ids are not as predicted
IN_APP = Channel.IN_APP.value
# A customer heard from in-app only (no webhook, email or SMS), as the customer directory
# takes it; the second form is the one before the directory had contacts.
CUSTOMER_BODIES: tuple[Document, ...] = (
    {
        "name": "Bench Telecom",
        "contacts": [{"contact_id": "desk", "name": "Support desk", "in_app": True}],
    },
    {"name": "Bench Telecom"},
)
# Who the notifier names as the recipient of a customer's in-app notification: the
# customer's account since the customer directory, the customer id before it.
IN_APP_RECIPIENTS: tuple[Callable[[str], str], ...] = (
    lambda customer_id: f"{customer_id}/account",
    lambda customer_id: customer_id,
)


class BenchError(RuntimeError):
    """The platform did not do what the benchmark needs (a refused POST, a lost ticket)."""


def ticket_body(customer_id: str, index: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "category": "call_quality",
        "summary": f"Choppy audio on outbound calls ({index})",
        "description": "Calls to Madrid break up every few seconds since 09:00 UTC.",
        "call_ids": [f"bench-{uuid.uuid4().hex[:16]}"],
        "affected_users": 2,
        "reporting_system": "bench",
    }


@dataclass
class Intake:
    """An HTTP client of intake holding a system key (for tickets) and an agent key."""

    http: httpx.AsyncClient
    system_key: str
    agent_key: str
    customer_bodies: list[Document] = field(default_factory=lambda: list(CUSTOMER_BODIES))

    async def new_customer(self) -> str:
        """A customer heard from in-app only, in the first form intake accepts."""
        customer_id = f"bench-{uuid.uuid4().hex[:12]}"
        for body in self.customer_bodies:
            response = await self.http.put(
                f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": self.agent_key}
            )
            if response.status_code != 422:
                break
        expect_status(response, 200)
        self.customer_bodies = [body]
        return customer_id

    async def open_ticket(self, customer_id: str, index: int) -> str:
        response = await self.http.post(
            "/v1/tickets",
            json=ticket_body(customer_id, index),
            headers={"X-API-Key": self.system_key, "Idempotency-Key": uuid.uuid4().hex},
        )
        expect_status(response, 202)
        ticket_id: str = response.json()["ticket_id"]
        return ticket_id


def expect_status(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise BenchError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {status}: {response.text[:300]}"
        )


@dataclass
class Notifications:
    """Waits for a ticket's in-app notification to be stored, reading by `_id` if it can.

    The id is predicted as the notifier names it (IN_APP_RECIPIENTS). Should the notifier
    name it otherwise, a ticket waited on for FALLBACK_AFTER_S switches every later
    lookup to a `ticket_id` query (an index read, more load on the server being
    measured) and says so once on stderr, rather than failing the run.
    """

    database: Database
    queries: int = 0  # what the polling itself asked of the store
    by_ticket_id: bool = False  # predicted ids did not match: look up by ticket_id instead
    recipients: list[Callable[[str], str]] = field(default_factory=lambda: [*IN_APP_RECIPIENTS])
    _opened_event: dict[str, str] = field(default_factory=dict)
    _found: dict[str, str] = field(default_factory=dict)  # ticket id -> notification id

    async def stored_at(
        self, ticket_id: str, customer_id: str, timeout_s: float, poll_s: float
    ) -> datetime:
        """When the notifier stored the notification (its `created_at`), polling every poll_s."""
        started = time.monotonic()
        while (waited := time.monotonic() - started) < timeout_s:
            if not self.by_ticket_id and waited > FALLBACK_AFTER_S:
                self._switch_to_ticket_id_lookups()
            found = await (
                self._by_ticket_id(ticket_id)
                if self.by_ticket_id
                else self._by_predicted_id(ticket_id, customer_id)
            )
            if found is not None:
                return found
            await asyncio.sleep(poll_s)
        raise BenchError(f"no notification for ticket {ticket_id} within {timeout_s:.0f}s")

    async def forget_all(self) -> None:
        """Delete every ticket and notification (customers and API keys stay)."""
        for name in (Collections.TICKETS, Collections.NOTIFICATIONS):
            await self.database[name].delete_many({})
        self._opened_event.clear()
        self._found.clear()

    def found_id(self, ticket_id: str) -> str | None:
        """The id of the ticket's in-app notification, once it was found."""
        return self._found.get(ticket_id)

    async def _by_predicted_id(self, ticket_id: str, customer_id: str) -> datetime | None:
        event_id = self._opened_event.get(ticket_id) or await self._opened_event_id(ticket_id)
        if event_id is None:
            return None
        self._opened_event[ticket_id] = event_id
        for recipient in self.recipients:
            candidate = notification_id(event_id, recipient(customer_id), IN_APP)
            found = await self._stored(ticket_id, {"_id": candidate})
            if found is not None:
                self.recipients = [recipient]  # the notifier's naming, known from now on
                return found
        return None

    async def _by_ticket_id(self, ticket_id: str) -> datetime | None:
        query = {"ticket_id": ticket_id, "event_type": "TicketOpened", "channel": IN_APP}
        return await self._stored(ticket_id, query)

    async def _stored(self, ticket_id: str, query: Document) -> datetime | None:
        self.queries += 1
        document = await self.database[Collections.NOTIFICATIONS].find_one(query, {"created_at": 1})
        if document is None:
            return None
        self._found[ticket_id] = document["_id"]
        stored: datetime = document["created_at"]
        return stored

    async def _opened_event_id(self, ticket_id: str) -> str | None:
        self.queries += 1
        ticket = await self.database[Collections.TICKETS].find_one(
            {"_id": ticket_id}, {"events": 1}
        )
        events = ticket.get("events", []) if ticket else []
        return next((e["event_id"] for e in events if e["type"] == "TicketOpened"), None)

    def _switch_to_ticket_id_lookups(self) -> None:
        self.by_ticket_id = True
        print(
            "bench: in-app notifications are not named as bench.tickets.IN_APP_RECIPIENTS "
            "predicts; looking them up by ticket_id instead",
            file=sys.stderr,
            flush=True,
        )


@dataclass(frozen=True)
class Accepted:
    """What the POST load left behind: its sample and when it started and ended (wall clock)."""

    sample: Sample
    ticket_ids: tuple[str, ...]
    started_at: float
    ended_at: float


async def post_load(intake: Intake, customer_id: str, count: int, concurrency: int) -> Accepted:
    """POST `count` tickets from `concurrency` tasks; every one must be accepted (202)."""
    ticket_ids: list[str] = []

    async def post(index: int) -> None:
        ticket_ids.append(await intake.open_ticket(customer_id, index))

    started_at = time.time()
    sample = await closed_loop(count, concurrency, post)
    return Accepted(sample, tuple(ticket_ids), started_at, time.time())


async def last_stored(
    notifications: Notifications, customer_id: str, ticket_ids: tuple[str, ...], timeout_s: float
) -> float:
    """Wait until every ticket's notification is stored; the latest `created_at`, epoch s."""
    deadline = time.monotonic() + timeout_s
    latest = 0.0
    for ticket_id in ticket_ids:
        remaining = max(0.1, deadline - time.monotonic())
        stored = await notifications.stored_at(ticket_id, customer_id, remaining, DRAIN_POLL_S)
        latest = max(latest, stored.timestamp())
    return latest


@dataclass(frozen=True)
class EndToEnd:
    """POST sent → notification seen by polling, and → the notifier's own `created_at` stamp."""

    observed: Sample
    stamped_s: tuple[float, ...]


async def end_to_end(
    intake: Intake,
    notifications: Notifications,
    customer_id: str,
    count: int,
    concurrency: int,
    timeout_s: float,
) -> EndToEnd:
    stamped: list[float] = []

    async def one_ticket(index: int) -> None:
        sent_at = time.time()
        ticket_id = await intake.open_ticket(customer_id, index)
        stored = await notifications.stored_at(ticket_id, customer_id, timeout_s, E2E_POLL_S)
        stamped.append(stored.timestamp() - sent_at)

    observed = await closed_loop(count, concurrency, one_ticket)
    return EndToEnd(observed, tuple(stamped))
