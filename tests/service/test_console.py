"""The operator console: who may sign in, what the session cookie holds, the page's languages,
and the live feed's work running only while a console is open."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, hash_key
from services.intake.console.board import ConsoleReads
from services.intake.console.feeds import Arrivals, DeadLetterEntry, LagReader, TopicFollower
from services.intake.console.hub import ConsoleEvent, ConsoleHub
from services.intake.console.sessions import COOKIE, SessionSigner
from shared.mongo import Collection, Collections, Database
from shared.vocabulary import Role
from tests.service.fakes import FakeCollection, FakeDatabase
from tests.service.test_incident_api import (
    INCIDENT,
    NOW,
    SETTINGS,
    chunk,
    incident_document,
    ticket_document,
)

AGENT_KEY, CUSTOMER_KEY, SYSTEM_KEY = "sb_agent-key", "sb_customer-key", "sb_system-key"
TICKET = "TCK-C0NS0LE000000001"


def key_records() -> list[dict[str, Any]]:
    return [
        {"_id": hash_key(AGENT_KEY), "name": "desk", "role": Role.AGENT.value},
        {"_id": hash_key(SYSTEM_KEY), "name": "crm", "role": Role.SYSTEM.value},
        {
            "_id": hash_key(CUSTOMER_KEY),
            "name": "acme",
            "role": Role.CUSTOMER.value,
            "customer_id": "acme-telecom",
        },
    ]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SETTINGS)
    keys = FakeCollection(documents=key_records())
    app.state.api_keys = ApiKeys(cast(Collection, keys))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


async def sign_in(http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await http.post("/console/session", headers={API_KEY_HEADER: key})


# --- signing in ---------------------------------------------------------------------------


async def test_an_agent_signing_in_gets_a_strict_http_only_cookie_that_never_holds_the_key(
    http: httpx.AsyncClient,
) -> None:
    response = await sign_in(http, AGENT_KEY)

    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=3600"):
        assert attribute.lower() in cookie.lower()
    assert AGENT_KEY not in cookie


async def test_the_cookie_alone_then_admits_the_agent(http: httpx.AsyncClient) -> None:
    await sign_in(http, AGENT_KEY)

    response = await http.get("/console/session")

    assert (response.status_code, response.json()["name"]) == (200, "desk")


@pytest.mark.parametrize("key", [CUSTOMER_KEY, SYSTEM_KEY])
async def test_a_customer_or_system_key_cannot_sign_in(http: httpx.AsyncClient, key: str) -> None:
    response = await sign_in(http, key)

    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_a_forged_or_tampered_cookie_is_refused(http: httpx.AsyncClient) -> None:
    await sign_in(http, AGENT_KEY)
    genuine = http.cookies[COOKIE]
    key_hash, expiry, signature = genuine.split(".")
    forged = f"{key_hash}.{int(expiry) + 86_400}.{signature}"
    http.cookies.clear()
    http.cookies.set(COOKIE, forged)

    response = await http.get("/console/session")

    assert response.status_code == 401


async def test_signing_out_clears_the_cookie(http: httpx.AsyncClient) -> None:
    await sign_in(http, AGENT_KEY)

    response = await http.delete("/console/session")

    assert response.status_code == 204
    assert (await http.get("/console/session")).status_code == 401


def test_a_session_ends_when_its_time_is_up() -> None:
    now = [NOW.timestamp()]
    signer = SessionSigner(b"s" * 32, lifetime_s=60, clock=lambda: now[0])
    token = signer.issue(AGENT_KEY)
    assert signer.check(token) is not None

    now[0] += 61

    assert signer.check(token) is None


# --- the page -------------------------------------------------------------------------------


async def test_the_page_speaks_the_browsers_language_and_holds_no_data(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/console", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})

    assert response.status_code == 200
    assert '<html lang="es">' in response.text
    assert "Consola de operaciones" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_the_language_switch_overrides_the_browser(http: httpx.AsyncClient) -> None:
    response = await http.get("/console?lang=en", headers={"Accept-Language": "es"})

    assert '<html lang="en">' in response.text
    assert "Switchboard operator console" in response.text


async def test_the_script_and_style_are_served_with_the_page(http: httpx.AsyncClient) -> None:
    script = await http.get("/console/static/console.js")
    style = await http.get("/console/static/console.css")

    assert script.status_code == style.status_code == 200
    assert "javascript" in script.headers["content-type"]


# --- the live feed --------------------------------------------------------------------------


class ScriptedFollower(TopicFollower):
    def __init__(self) -> None:
        self.arrivals: asyncio.Queue[Arrivals] = asyncio.Queue()

    async def position(self) -> None:
        pass

    async def next_arrivals(self) -> Arrivals:
        return await self.arrivals.get()


class FixedLag(LagReader):
    def __init__(self) -> None:
        pass

    async def lag(self) -> list[dict[str, Any]]:
        return [{"group": "switchboard-notifier", "topic": "ticket-events", "lag": 3}]


class Feeds:
    def __init__(self) -> None:
        self.follower = ScriptedFollower()
        self.open = 0

    @asynccontextmanager
    async def follow(self) -> AsyncIterator[TopicFollower]:
        self.open += 1
        try:
            yield self.follower
        finally:
            self.open -= 1

    @asynccontextmanager
    async def read_lag(self) -> AsyncIterator[LagReader]:
        yield FixedLag()


async def next_of(events: AsyncIterator[ConsoleEvent], kind: str) -> ConsoleEvent:
    async with asyncio.timeout(5):
        async for event in events:
            if event.event == kind:
                return event
    raise AssertionError(f"no {kind} event")


async def test_a_console_gets_a_snapshot_then_each_change_and_the_work_stops_when_it_leaves() -> (
    None
):
    database = FakeDatabase()
    tickets = database[Collections.TICKETS]
    tickets.documents.append(ticket_document(TICKET, None))
    database[Collections.INCIDENTS].documents.append(incident_document())
    database[Collections.BROADCASTS].documents.append(
        {
            "_id": "evt-declared",
            "incident_id": INCIDENT,
            "affected_customers": 2,
            "recipients": 4,
            "chunks": 2,
            "planned_at": NOW,
        }
    )
    database[Collections.BROADCAST_CHUNKS].documents.extend(
        [chunk("evt-declared", 0, delivered=2), chunk("evt-declared", 1, delivered=1, failed=1)]
    )
    feeds = Feeds()
    hub = ConsoleHub(ConsoleReads(cast(Database, database), 50), feeds.follow, feeds.read_lag, 60.0)
    events = hub.events()

    board = await next_of(events, "board")
    incidents = await next_of(events, "incidents")
    assert [t["ticket_id"] for t in board.data["tickets"]] == [TICKET]
    assert incidents.data[0]["counts"] == {
        "affected": 2,
        "recipients": 4,
        "notified": 4,
        "delivered": 3,
        "failed": 1,
        "pending": 0,
    }
    assert hub.running
    assert feeds.open == 1

    tickets.documents[0].update(status="investigating", updated_at=NOW + timedelta(minutes=1))
    letter = DeadLetterEntry(7, NOW.isoformat(), TICKET, "OpenTicket", "ticket-commands", "bad")
    await feeds.follower.arrivals.put(Arrivals([TICKET], [letter]))
    changed = await next_of(events, "ticket")
    letters = await next_of(events, "dead-letters")
    assert changed.data["status"] == "investigating"
    assert letters.data[-1]["offset"] == 7

    await events.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    assert not hub.running
    assert hub.consoles == 0
