"""Following in-app notifications live: server-sent events from intake, over a real socket.

intake runs under uvicorn on a free port (an SSE stream never ends, so an in-process
transport that waits for the whole body cannot carry it); its reads come from an in-memory
notifications collection that answers the queries the route sends to MongoDB.
"""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
import uvicorn

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller
from services.intake.customers.streams import POLL_S
from services.intake.settings import IntakeSettings
from services.intake.tickets.queries import Reads
from shared.mongo import Database, Document
from shared.settings import Environment
from shared.vocabulary import Role
from tests.service.fakes import NOW, Cursor

SETTINGS = IntakeSettings(
    environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1", mongo_url="mongodb://127.0.0.1:1/"
)
AGENT, CRM, ACME, GLOBEX = "key-agent", "key-crm", "key-acme", "key-globex"
CALLERS = {
    AGENT: Caller(name="agent-desk", role=Role.AGENT),
    CRM: Caller(name="crm", role=Role.SYSTEM),
    ACME: Caller(name="acme-portal", role=Role.CUSTOMER, customer_id="acme-telecom"),
    GLOBEX: Caller(name="globex-portal", role=Role.CUSTOMER, customer_id="globex"),
}
STREAM = "/v1/customers/acme-telecom/notifications/stream"
WAIT_S = 5.0


class FakeApiKeys(ApiKeys):
    def __init__(self) -> None:
        pass

    async def caller_for(self, key: str) -> Caller | None:
        return CALLERS.get(key)


def _matches(document: Document, query: Document) -> bool:
    for key, condition in query.items():
        if key == "$or":
            if not any(_matches(document, alternative) for alternative in condition):
                return False
        elif isinstance(condition, dict):
            ((operator, operand),) = condition.items()
            assert operator == "$gt", f"unexpected operator {operator}"
            if not (key in document and document[key] > operand):
                return False
        elif document.get(key) != condition:
            return False
    return True


@dataclass
class FakeNotifications:
    """The notifications collection: equality, `$gt` and `$or`, sorted, limited."""

    documents: list[Document] = field(default_factory=list)
    polls: int = 0

    def _found(self, query: Document, sort: list[tuple[str, int]] | None) -> list[Document]:
        found = [d for d in self.documents if _matches(d, query)]
        for key, direction in reversed(sort or []):
            found.sort(key=lambda d: d[key], reverse=direction < 0)
        return found

    async def find_one(
        self, query: Document, projection: Any = None, sort: list[tuple[str, int]] | None = None
    ) -> Document | None:
        return next(iter(self._found(query, sort)), None)

    def find(
        self, query: Document, sort: list[tuple[str, int]] | None = None, limit: int = 0
    ) -> Cursor:
        self.polls += 1
        found = self._found(query, sort)
        return Cursor(found[:limit] if limit else found)


class FakeDatabase(dict[str, FakeNotifications]):
    def __missing__(self, name: str) -> FakeNotifications:
        return self.setdefault(name, FakeNotifications())


def notification(number: int, customer_id: str = "acme-telecom", **fields: Any) -> Document:
    return {
        "_id": f"NTF-{number:026d}",
        "event_id": f"event-{number}",
        "event_type": "PublicUpdatePosted",
        "ticket_id": "TCK-0123456789ABCDEF",
        "customer_id": customer_id,
        "contact_id": "account",
        "channel": "in_app",
        "subject": f"Update {number}",
        "body": "We are testing another route.",
        "status": "delivered",
        "attempts": 0,
        "created_at": NOW + timedelta(seconds=number),
        "delivered_at": NOW + timedelta(seconds=number),
        **fields,
    }


@dataclass
class Intake:
    url: str
    notifications: FakeNotifications

    def store(self, *documents: Document) -> None:
        self.notifications.documents.extend(documents)


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    app = create_app(SETTINGS)
    database = FakeDatabase()
    app.state.api_keys = FakeApiKeys()
    app.state.reads = Reads(cast(Database, database))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        yield Intake(url, database["notifications"])
    finally:
        server.should_exit = True
        await serving
        listener.close()


@dataclass(frozen=True)
class Event:
    id: str
    event: str
    data: dict[str, Any]


async def events(response: httpx.Response) -> AsyncIterator[Event]:
    """The server-sent events of a response, one per blank-line-terminated block."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in fields:
                yield Event(fields["id"], fields["event"], json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def first(stream: AsyncIterator[Event], count: int) -> list[Event]:
    received: list[Event] = []
    async with asyncio.timeout(WAIT_S):
        async for event in stream:
            received.append(event)
            if len(received) == count:
                break
    return received


async def test_a_customer_following_gets_each_new_in_app_notification_as_it_is_stored(
    intake: Intake,
) -> None:
    intake.store(notification(1))  # already there: read it from the list, not the stream
    async with (
        httpx.AsyncClient(base_url=intake.url, timeout=WAIT_S) as http,
        http.stream("GET", STREAM, headers={API_KEY_HEADER: ACME}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        intake.store(
            notification(2, channel="email", contact_id="noc"),  # not in-app
            notification(3, customer_id="globex"),  # someone else's
            notification(4),
        )
        (event,) = await first(events(response), 1)

    assert event.id == notification(4)["_id"]
    assert event.event == "PublicUpdatePosted"
    assert event.data["notification_id"] == notification(4)["_id"]
    assert event.data["subject"] == "Update 4"
    assert event.data["channel"] == "in_app"


async def test_a_follower_that_reconnects_resumes_after_the_last_event_it_got(
    intake: Intake,
) -> None:
    intake.store(notification(1), notification(2), notification(3), notification(4))
    resume = {API_KEY_HEADER: ACME, "Last-Event-ID": notification(2)["_id"]}
    async with (
        httpx.AsyncClient(base_url=intake.url, timeout=WAIT_S) as http,
        http.stream("GET", STREAM, headers=resume) as response,
    ):
        stream = events(response)
        missed = await first(stream, 2)
        intake.store(notification(5))
        live = await first(stream, 1)

    assert [e.id for e in missed + live] == [notification(n)["_id"] for n in (3, 4, 5)]


async def test_notifications_stored_in_the_same_instant_all_arrive_in_id_order(
    intake: Intake,
) -> None:
    intake.store(notification(1))
    same_instant = NOW + timedelta(seconds=9)
    async with (
        httpx.AsyncClient(base_url=intake.url, timeout=WAIT_S) as http,
        http.stream("GET", STREAM, headers={API_KEY_HEADER: AGENT}) as response,
    ):
        intake.store(
            notification(12, created_at=same_instant), notification(11, created_at=same_instant)
        )
        received = await first(events(response), 2)

    assert [e.id for e in received] == [notification(n)["_id"] for n in (11, 12)]


async def test_the_stream_stops_polling_once_the_follower_disconnects(intake: Intake) -> None:
    async with (
        httpx.AsyncClient(base_url=intake.url, timeout=WAIT_S) as http,
        http.stream("GET", STREAM, headers={API_KEY_HEADER: ACME}) as response,
    ):
        intake.store(notification(1))
        await first(events(response), 1)

    await asyncio.sleep(2 * POLL_S)  # the server notices the disconnect
    polls = intake.notifications.polls
    await asyncio.sleep(3 * POLL_S)

    assert intake.notifications.polls == polls


@pytest.mark.parametrize(("key", "status"), [(GLOBEX, 404), (CRM, 403), ("nobody", 401)])
async def test_only_the_customer_and_agents_may_follow(
    intake: Intake, key: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=intake.url, timeout=WAIT_S) as http:
        response = await http.get(STREAM, headers={API_KEY_HEADER: key})

    assert response.status_code == status
