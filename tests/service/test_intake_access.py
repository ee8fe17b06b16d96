"""Who may call what: every route of intake's OpenAPI with every role, and with one customer's
key on another customer's data; and NoSQL operators smuggled into bodies, ids and query strings.

The routes are read from the app's own OpenAPI document, so a new route fails the table test
until the table says who may call it. The collections are in-memory stand-ins that record
every query, so the tests assert on what reached the store as well as on the answer.
"""

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, hash_key
from services.intake.customers.directory import Customers
from services.intake.incidents.queries import IncidentReads
from services.intake.tickets.queries import Reads
from shared.mongo import Collection, Collections, Database, Document
from shared.vocabulary import Role
from tests.service.fakes import FakeCollection
from tests.service.test_incident_api import (
    ACME,
    AGENT,
    DECLARATION,
    INCIDENT,
    MONITORING,
    NOW,
    SETTINGS,
    FakeApiKeys,
    FakeBus,
    customer_document,
    incident_document,
    ticket_document,
)

# The caller asking: no key, a source system, an agent, and customer acme's key — always on
# the data of another customer, globex.
ROLES = ("no key", "system", "agent", "acme")
KEYS: dict[str, str | None] = {"no key": None, "system": MONITORING, "agent": AGENT, "acme": ACME}
OTHER = "globex"
TICKET = "TCK-G10BEX0000000001"
CALL_ID = "c-globex-0001"
SUMMARY = "Globex cannot reach its Lisbon PBX"
EMAIL = "noc@globex.example"
UNKNOWN = {"ticket_id": "TCK-N0SUCH0000000000", "incident_id": "INC-N0SUCH0000000000"}
UNKNOWN_CUSTOMER = {"customer_id": "no-such-customer"}
PATH_VALUES = {"ticket_id": TICKET, "customer_id": OTHER, "incident_id": INCIDENT}
PATH_VALUES["contact_id"] = "noc"
NOT_CALLED = 0  # allowed, but answers a stream that never ends: see test_notification_stream

# What the README's HTTP API table documents, as (no key, system, agent, acme on globex).
T = "/v1/tickets/{ticket_id}"
C = "/v1/customers/{customer_id}"
I = "/v1/incidents/{incident_id}"  # noqa: E741 — the incident routes' prefix
PREFERENCES = f"{C}/contacts/{{contact_id}}/preferences"
ACCESS: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("POST", "/v1/tickets"): (401, 202, 202, 403),
    ("GET", "/v1/tickets"): (401, 200, 200, 200),  # acme's list holds none of globex's
    ("GET", T): (401, 200, 200, 404),
    ("GET", f"{T}/timeline"): (401, 200, 200, 404),
    ("POST", f"{T}/assignment"): (401, 403, 202, 403),
    ("POST", f"{T}/status"): (401, 403, 202, 403),
    ("POST", f"{T}/updates"): (401, 403, 202, 403),
    ("POST", f"{T}/notes"): (401, 403, 202, 403),
    ("POST", f"{T}/call-ids"): (401, 202, 202, 403),
    ("POST", f"{T}/development"): (401, 403, 202, 403),
    # No development ticket DEV-… on the ticket: the role passed, the step is refused.
    ("POST", f"{T}/development/progress"): (401, 409, 409, 403),
    ("POST", f"{T}/comments"): (401, 403, 403, 404),
    ("POST", f"{T}/confirmation"): (401, 403, 403, 404),
    ("POST", f"{T}/reopen"): (401, 403, 403, 404),
    ("GET", f"{C}/notifications"): (401, 403, 200, 404),
    ("GET", f"{C}/notifications/stream"): (401, 403, NOT_CALLED, 404),
    ("PUT", C): (401, 403, 200, 403),
    ("GET", C): (401, 403, 200, 404),
    ("GET", "/v1/customers"): (401, 403, 200, 403),
    ("PATCH", PREFERENCES): (401, 403, 200, 404),
    ("POST", "/v1/incidents"): (401, 202, 202, 403),
    ("POST", f"{I}/updates"): (401, 403, 202, 403),
    ("POST", f"{I}/resolve"): (401, 403, 202, 403),
    ("GET", "/v1/incidents"): (401, 403, 200, 200),  # acme: only incidents that hit acme
    ("GET", I): (401, 403, 200, 403),
    ("GET", f"{I}/tickets"): (401, 403, 200, 403),
    # The operator console: agents only, by key or by the session cookie signing in sets.
    ("POST", "/console/session"): (401, 403, 204, 403),
    ("GET", "/console/session"): (401, 403, 200, 403),
    ("DELETE", "/console/session"): (401, 403, 204, 403),
    ("GET", "/console/stream"): (401, 403, NOT_CALLED, 403),  # see tests/service/test_console
    ("GET", "/console/tickets/{ticket_id}/timeline"): (401, 403, 200, 403),
}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}  # no key; covered by the health tests

BODIES: dict[str, dict[str, Any]] = {
    "/v1/tickets": {
        "customer_id": OTHER,
        "category": "call_quality",
        "summary": "Choppy audio",
        "call_ids": ["c-new-0001"],
        "reporting_system": "crm",
    },
    f"{T}/assignment": {"team": "level_2_support"},
    f"{T}/status": {"status": "investigating"},
    f"{T}/updates": {"message": "We are on it."},
    f"{T}/notes": {"text": "Probably the SBC."},
    f"{T}/call-ids": {"call_ids": ["c-globex-0002"]},
    f"{T}/development": {"summary": "Fix the codec negotiation"},
    f"{T}/development/progress": {
        "development_ticket_id": "DEV-0123456789ABCDEF",
        "status": "fix_in_progress",
    },
    f"{T}/comments": {"message": "Still broken here."},
    f"{T}/confirmation": {},
    f"{T}/reopen": {},
    C: {"name": "Globex", "contacts": [{"contact_id": "noc", "name": "NOC", "email": EMAIL}]},
    PREFERENCES: {"language": "fr"},
    "/v1/incidents": DECLARATION,
    f"{I}/updates": {"message": "Rerouting."},
    f"{I}/resolve": {"message": "Fixed."},
}
QUERIES: dict[tuple[str, str], dict[str, str]] = {("GET", "/v1/tickets"): {"call_id": CALL_ID}}
# What only an agent (or the caller the data is about) may ever read.
GLOBEX_DATA = (SUMMARY, EMAIL, CALL_ID, "Globex NOC")


@dataclass
class RecordingCollection(FakeCollection):
    """A FakeCollection that also takes the directory's writes, recording their filters."""

    async def replace_one(self, query: Document, document: Document, upsert: bool) -> None:
        self.queries.append(query)
        self.documents = [d for d in self.documents if d["_id"] != document["_id"]]
        self.documents.append(document)

    async def update_one(self, query: Document, update: Document) -> SimpleNamespace:
        self.queries.append(query)
        found = [d for d in self.documents if d["_id"] == query["_id"]]
        return SimpleNamespace(matched_count=len(found))


class RecordingDatabase(dict[str, RecordingCollection]):
    def __missing__(self, name: str) -> RecordingCollection:
        return self.setdefault(name, RecordingCollection())

    def queries(self) -> list[Document]:
        return [query for collection in self.values() for query in collection.queries]


@dataclass
class Intake:
    app: FastAPI
    http: httpx.AsyncClient
    bus: FakeBus
    database: RecordingDatabase

    async def call(
        self,
        method: str,
        path: str,
        role: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        key = KEYS[role]
        headers = {API_KEY_HEADER: key} if key else {}
        headers["Idempotency-Key"] = f"access-{method}-{path}"
        content = None if body is None else json.dumps(body)
        if content is not None:
            headers["content-type"] = "application/json"
        return await self.http.request(
            method, path, content=content, params=params, headers=headers
        )


def globex_records() -> dict[str, list[Document]]:
    ticket = ticket_document(TICKET, INCIDENT, customer_id=OTHER, summary=SUMMARY)
    ticket["call_ids"] = [CALL_ID]
    customer = customer_document(OTHER, regions=["eu-south"])
    customer["contacts"][0].update(email=EMAIL, name="Globex NOC")
    notification = {
        "_id": "ntf-globex-1",
        "customer_id": OTHER,
        "ticket_id": TICKET,
        "event_type": "TicketOpened",
        "channel": "email",
        "subject": SUMMARY,
        "body": SUMMARY,
        "status": "delivered",
        "attempts": 1,
        "created_at": NOW,
    }
    return {
        Collections.TICKETS: [ticket],
        Collections.CUSTOMERS: [customer],
        Collections.INCIDENTS: [incident_document()],
        Collections.NOTIFICATIONS: [notification],
    }


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    app = create_app(SETTINGS)
    bus, database = FakeBus(), RecordingDatabase()
    for name, documents in globex_records().items():
        database[name].documents.extend(documents)
    mongo = cast(Database, database)
    app.state.bus, app.state.api_keys = bus, FakeApiKeys()
    app.state.reads, app.state.incident_reads = Reads(mongo), IncidentReads(mongo)
    app.state.customers = Customers(mongo)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Intake(app, http, bus, database)


def operations(app: FastAPI) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def concrete(path: str, values: dict[str, str]) -> str:
    return path.format(**{**PATH_VALUES, **values})


def cells() -> Iterator[tuple[str, str, str, int]]:
    for (method, path), expected in ACCESS.items():
        for role, status in zip(ROLES, expected, strict=True):
            if status != NOT_CALLED:
                yield method, path, role, status


# --- every route with every role ------------------------------------------------------------


def test_the_access_table_names_every_route_of_the_openapi_document() -> None:
    served = operations(create_app(SETTINGS))

    assert served - set(ACCESS) - PUBLIC == set(), "routes nobody said who may call"
    assert set(ACCESS) | PUBLIC <= served, "the table names routes intake no longer serves"


@pytest.mark.parametrize(("method", "path", "role", "status"), list(cells()))
async def test_each_role_gets_the_documented_answer_on_each_route(
    intake: Intake, method: str, path: str, role: str, status: int
) -> None:
    body = BODIES.get(path) if method in {"POST", "PUT", "PATCH"} else None
    params = QUERIES.get((method, path))
    response = await intake.call(method, concrete(path, {}), role, body, params)

    assert response.status_code == status, response.text
    if status >= 400:
        assert intake.bus.sent == [], "a refused call must publish nothing"
    if status in (401, 403, 404) or role == "acme":
        assert not [data for data in GLOBEX_DATA if data in response.text]
    if status == 401:
        assert intake.database.queries() == [], "no key: not even a lookup"


@pytest.mark.parametrize(
    ("method", "path", "role", "status"),
    [cell for cell in cells() if "{" in cell[1] and cell[3] in (403, 404)],
)
async def test_a_refusal_is_the_same_whether_or_not_the_thing_exists(
    intake: Intake, method: str, path: str, role: str, status: int
) -> None:
    """So an id probed with the wrong key confirms nothing: 403 or 404, never one then the other."""
    unknown = {**UNKNOWN, **UNKNOWN_CUSTOMER}
    body = BODIES.get(path) if method in {"POST", "PUT", "PATCH"} else None
    response = await intake.call(method, concrete(path, unknown), role, body)

    assert response.status_code == status, response.text


async def test_a_customer_asking_for_another_customers_tickets_by_filter_gets_none(
    intake: Intake,
) -> None:
    response = await intake.call("GET", "/v1/tickets", "acme", params={"customer_id": OTHER})

    assert (response.status_code, response.json()) == (200, [])
    assert SUMMARY not in response.text


async def test_a_customer_sees_only_its_own_tickets_whatever_it_filters_by(
    intake: Intake,
) -> None:
    response = await intake.call("GET", "/v1/tickets", "acme", params={"call_id": CALL_ID})

    assert (response.status_code, response.json()) == (200, [])
    (query,) = intake.database[Collections.TICKETS].queries
    assert query["customer_id"] == "acme-telecom"


# --- NoSQL operators in bodies, ids and query strings -------------------------------------

OPERATOR = {"$ne": None}
HOSTILE_BODIES = [
    ("POST", "/v1/tickets", {**BODIES["/v1/tickets"], "customer_id": OPERATOR}, "customer_id"),
    ("POST", "/v1/tickets", {**BODIES["/v1/tickets"], "call_ids": [OPERATOR]}, "call_ids"),
    ("POST", "/v1/tickets", {**BODIES["/v1/tickets"], "$where": "sleep(1)"}, "$where"),
    ("POST", f"{T}/call-ids", {"call_ids": [{"$gt": ""}]}, "call_ids"),
    ("POST", f"{T}/status", {"status": {"$ne": "closed"}}, "status"),
    ("PUT", C, {**BODIES[C], "name": {"$gt": ""}}, "name"),
    ("PUT", C, {**BODIES[C], "contacts": [{"contact_id": OPERATOR, "name": "x"}]}, "contacts"),
    ("PATCH", PREFERENCES, {"language": {"$nin": ["en"]}}, "language"),
    ("POST", "/v1/incidents", {**DECLARATION, "scope": {"customer_ids": [OPERATOR]}}, "scope"),
    ("POST", "/v1/incidents", {**DECLARATION, "severity": {"$exists": True}}, "severity"),
]
# A customer's key is refused (403) on agent-only routes before the id is even read.
EVERYONE, AGENTS = ("agent", "acme"), ("agent",)
HOSTILE_IDS = [
    ("GET", "/v1/tickets/%7B%24ne%7D", "ticket_id", EVERYONE),
    ("GET", "/v1/tickets/%24where/timeline", "ticket_id", EVERYONE),
    ("POST", "/v1/tickets/%7B%22%24gt%22%3A%22%22%7D/notes", "ticket_id", AGENTS),
    ("POST", "/v1/tickets/%7B%24ne%7D/comments", "ticket_id", ("acme",)),
    ("GET", "/v1/customers/%24ne", "customer_id", EVERYONE),
    ("GET", "/v1/customers/%7B%22%24ne%22%3A1%7D/notifications", "customer_id", EVERYONE),
    ("PATCH", "/v1/customers/globex/contacts/%24ne/preferences", "contact_id", EVERYONE),
    ("GET", "/v1/incidents/%7B%24gt%7D", "incident_id", AGENTS),
    ("GET", "/v1/incidents/%24where/tickets", "incident_id", AGENTS),
]
ID_BODIES = {
    "notes": {"text": "x"},
    "comments": {"message": "x"},
    "preferences": {"language": "fr"},
}
HOSTILE_QUERIES = [
    ("/v1/tickets", "status[$ne]=x", "status[$ne]"),
    ("/v1/tickets", "customer_id=%7B%22%24ne%22%3A1%7D", "customer_id"),
    ("/v1/tickets", "call_id=%7B%22%24gt%22%3A%22%22%7D", "call_id"),
    ("/v1/tickets", "status=%7B%22%24ne%22%3A%22closed%22%7D", "status"),
    ("/v1/tickets", "customer_id[$ne]=acme-telecom", "customer_id[$ne]"),
    ("/v1/customers", "region[$regex]=.*", "region[$regex]"),
    ("/v1/customers", "number_range=%7B%22%24ne%22%3A1%7D", "number_range"),
    ("/v1/incidents", "status=%7B%22%24ne%22%3A1%7D", "status"),
]


def operators(queries: list[Document]) -> set[str]:
    """Every `$` key anywhere in the queries the store received."""

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).startswith("$"):
                    yield str(key)
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return {key for query in queries for key in walk(query)}


def named_fields(response: httpx.Response) -> list[str]:
    return [str(part) for error in response.json()["errors"] for part in error["loc"]]


@pytest.mark.parametrize(("method", "path", "body", "field"), HOSTILE_BODIES)
async def test_an_operator_in_a_body_is_refused_naming_the_field(
    intake: Intake, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await intake.call(method, concrete(path, {}), "agent", body)

    assert response.status_code == 422, response.text
    assert field in named_fields(response)
    assert intake.bus.sent == []
    # At most the ticket the path names was looked up, by its literal id.
    assert operators(intake.database.queries()) == set(), "no operator may reach the store"


@pytest.mark.parametrize(
    ("method", "path", "field", "role"),
    [(method, path, field, role) for method, path, field, roles in HOSTILE_IDS for role in roles],
)
async def test_an_operator_as_a_path_id_is_refused_naming_the_id(
    intake: Intake, method: str, path: str, field: str, role: str
) -> None:
    body = ID_BODIES.get(path.rsplit("/", 1)[-1])
    response = await intake.call(method, path, role, body)

    assert response.status_code == 422, response.text
    assert ["path", field] == named_fields(response)
    assert intake.bus.sent == []
    assert intake.database.queries() == []


@pytest.mark.parametrize(("path", "query", "field"), HOSTILE_QUERIES)
async def test_an_operator_in_a_query_string_is_refused_naming_the_parameter(
    intake: Intake, path: str, query: str, field: str
) -> None:
    response = await intake.call("GET", f"{path}?{query}", "agent")

    assert response.status_code == 422, response.text
    assert field in named_fields(response)
    assert intake.database.queries() == []


async def test_an_operator_as_an_api_key_is_a_literal_key_that_matches_nothing() -> None:
    real = {"_id": hash_key("sb_the-desks-key"), "name": "desk", "role": Role.AGENT.value}
    collection = FakeCollection(documents=[real])
    keys = ApiKeys(cast(Collection, collection))
    app = create_app(SETTINGS)
    app.state.api_keys = keys
    hostile = '{"$ne": null}'
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        response = await http.get("/v1/incidents", headers={API_KEY_HEADER: hostile})

    assert response.status_code == 401
    assert collection.queries == [{"_id": hash_key(hostile)}]


async def test_an_operator_as_an_idempotency_key_is_a_literal_that_names_a_new_ticket(
    intake: Intake,
) -> None:
    headers = {API_KEY_HEADER: MONITORING, "Idempotency-Key": '{"$ne": null}'}
    response = await intake.http.post("/v1/tickets", json=BODIES["/v1/tickets"], headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["ticket_id"] != TICKET
    (query,) = intake.database[Collections.TICKETS].queries
    assert query == {"_id": {"$in": [response.json()["ticket_id"]]}}
