"""Outages over HTTP: operators declare, update and resolve incidents and watch their reach;
customers see the incidents that hit them.

The bus is faked (it records what Kafka would have acknowledged) and the collections are
in-memory stand-ins answering the very queries and aggregations intake sends to MongoDB.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller
from services.intake.commands import AnyCommand, CommandBus, KafkaUnavailable
from services.intake.customers.directory import Customers
from services.intake.incidents.issuing import declaration_hash
from services.intake.incidents.queries import IncidentReads
from services.intake.incidents.schemas import DeclarationRequest
from services.intake.settings import IntakeSettings
from services.intake.tickets.queries import Reads
from shared.events import Actor
from shared.incidents import (
    DeclareIncident,
    IncidentDeclared,
    IncidentEvent,
    IncidentScope,
    IncidentUpdated,
    ResolveIncident,
    Severity,
    UpdateIncident,
)
from shared.mongo import Collections, Database, Document
from shared.settings import Environment
from shared.vocabulary import Role, incident_id_for_request
from tests.service.fakes import FakeCollection, FakeDatabase

SETTINGS = IntakeSettings(
    environment=Environment.TEST,
    kafka_bootstrap="127.0.0.1:1",
    mongo_url="mongodb://127.0.0.1:1/",
)
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
INCIDENT = "INC-MADR1D0000000001"
ELSEWHERE = "INC-0THER00000000002"

AGENT, MONITORING, ACME, GLOBEX = "key-agent", "key-monitoring", "key-acme", "key-globex"
CALLERS = {
    AGENT: Caller(name="noc-desk", role=Role.AGENT),
    MONITORING: Caller(name="monitoring", role=Role.SYSTEM),
    ACME: Caller(name="acme-portal", role=Role.CUSTOMER, customer_id="acme-telecom"),
    GLOBEX: Caller(name="globex-portal", role=Role.CUSTOMER, customer_id="globex"),
}
DECLARATION: dict[str, Any] = {
    "title": "Calls to Madrid fail on carrier B",
    "severity": "critical",
    "scope": {"regions": ["eu-south"], "carrier_routes": ["carrier-b"]},
    "message": "Outbound calls to Madrid fail. Engineers are rerouting traffic.",
}
NOC = Actor(role=Role.AGENT, name="noc-desk")


class FakeApiKeys(ApiKeys):
    def __init__(self) -> None:
        pass

    async def caller_for(self, key: str) -> Caller | None:
        return CALLERS.get(key)


class FakeBus(CommandBus):
    """Records what Kafka acknowledged; or fails the way Kafka does when told to."""

    def __init__(self) -> None:
        self.sent: list[tuple[AnyCommand, str]] = []
        self.failure: Exception | None = None

    async def send(self, command: AnyCommand, key: str) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append((command, key))


# --- documents as the workflow and the notifier store them --------------------------------


def stored_event(event_type: type[IncidentEvent], event_id: str, **fields: Any) -> Document:
    facts: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": NOW,
        "incident_id": INCIDENT,
        "actor": NOC,
        "title": DECLARATION["title"],
        "severity": Severity.CRITICAL,
        "scope": IncidentScope.model_validate(DECLARATION["scope"]),
        "message": DECLARATION["message"],
    }
    return event_type.model_validate({**facts, **fields}).model_dump(mode="json")


def incident_document(
    incident_id: str = INCIDENT, status: str = "open", **changes: Any
) -> Document:
    declared = stored_event(IncidentDeclared, "evt-declared")
    document = {
        "_id": incident_id,
        "incident_id": incident_id,
        "title": DECLARATION["title"],
        "severity": "critical",
        "scope": DECLARATION["scope"],
        "status": status,
        "message": DECLARATION["message"],
        "detected": False,
        "update_count": 0,
        "declared_at": NOW,
        "updated_at": NOW,
        "resolved_at": NOW + timedelta(hours=2) if status == "resolved" else None,
        "request_hash": declaration_hash(DeclarationRequest.model_validate(DECLARATION)),
        "events": [declared],
        "version": 1,
    }
    return {**document, **changes}


def ticket_document(ticket_id: str, incident_id: str | None, **changes: Any) -> Document:
    return {
        "_id": ticket_id,
        "status": "triaged",
        "customer_id": "acme-telecom",
        "category": "service_outage",
        "summary": "No outbound calls to Madrid",
        "reporting_system": "crm",
        "affected": {"region": "eu-south", "carrier_route": "carrier-b"},
        "incident_id": incident_id,
        "team": "incident",
        "priority": "p1",
        "created_at": NOW,
        "updated_at": NOW,
        "events": [],
        **changes,
    }


def customer_document(customer_id: str, **services: list[str]) -> Document:
    return {
        "_id": customer_id,
        "name": customer_id.title(),
        "contacts": [{"contact_id": "noc", "name": "NOC", "email": "noc@example.com"}],
        "services": services,
    }


def chunk(event_id: str, number: int, incident_id: str = INCIDENT, **counts: int) -> Document:
    """A broadcast chunk's progress record, with the counts the notifier kept on it."""
    return {
        "_id": f"{event_id}:{number}",
        "event_id": event_id,
        "incident_id": incident_id,
        "counts": counts,
    }


# --- the intake under test ----------------------------------------------------------------


@dataclass
class Intake:
    app: FastAPI
    http: httpx.AsyncClient
    bus: FakeBus
    database: FakeDatabase

    def store(self, collection: str, *documents: Document) -> None:
        self.database[collection].documents.extend(documents)

    @property
    def incidents(self) -> FakeCollection:
        return self.database[Collections.INCIDENTS]

    async def declare(
        self, key: str = AGENT, idempotency_key: str | None = "noc-42", **changes: Any
    ) -> httpx.Response:
        headers = {API_KEY_HEADER: key}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self.http.post(
            "/v1/incidents", json={**DECLARATION, **changes}, headers=headers
        )

    async def post(
        self, path: str, body: dict[str, Any], key: str = AGENT, incident_id: str = INCIDENT
    ) -> httpx.Response:
        url = f"/v1/incidents/{incident_id}/{path}"
        return await self.http.post(url, json=body, headers={API_KEY_HEADER: key})

    async def get(self, path: str, key: str = AGENT, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers={API_KEY_HEADER: key})

    def sent(self) -> list[AnyCommand]:
        return [command for command, _ in self.bus.sent]


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    app = create_app(SETTINGS)
    bus, database = FakeBus(), FakeDatabase()
    mongo = cast(Database, database)
    app.state.bus, app.state.api_keys = bus, FakeApiKeys()
    app.state.reads, app.state.incident_reads = Reads(mongo), IncidentReads(mongo)
    app.state.customers = Customers(mongo)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Intake(app, http, bus, database)


# --- declaring ------------------------------------------------------------------------------


async def test_a_declared_outage_is_accepted_once_kafka_acknowledged_it(intake: Intake) -> None:
    response = await intake.declare()

    assert response.status_code == 202, response.text
    incident_id = incident_id_for_request("noc-desk", "noc-42")
    assert response.json() == {
        "incident_id": incident_id,
        "command_id": f"declare:{incident_id}",
        "status_url": f"/v1/incidents/{incident_id}",
    }
    assert response.headers["Location"] == f"/v1/incidents/{incident_id}"
    ((command, key),) = intake.bus.sent
    assert isinstance(command, DeclareIncident)
    assert key == command.incident_id == incident_id
    assert command.issued_by == NOC
    assert command.scope == IncidentScope(regions=("eu-south",), carrier_routes=("carrier-b",))
    assert (command.title, command.severity) == (DECLARATION["title"], Severity.CRITICAL)
    assert command.detected is False


async def test_a_monitoring_system_may_declare_an_outage(intake: Intake) -> None:
    response = await intake.declare(key=MONITORING)

    assert response.status_code == 202
    (command,) = intake.sent()
    assert command.issued_by == Actor(role=Role.SYSTEM, name="monitoring")


async def test_a_retried_declaration_names_the_same_incident_with_the_same_command(
    intake: Intake,
) -> None:
    first = await intake.declare()
    retry = await intake.declare()

    assert first.json() == retry.json()
    first_command, retried = intake.sent()
    assert retried.model_dump(exclude={"issued_at"}) == first_command.model_dump(
        exclude={"issued_at"}
    )


async def test_a_retry_after_the_incident_is_stored_publishes_nothing_new(intake: Intake) -> None:
    incident_id = incident_id_for_request("noc-desk", "noc-42")
    intake.store(Collections.INCIDENTS, incident_document(incident_id))

    response = await intake.declare()

    assert response.status_code == 202
    assert response.json()["incident_id"] == incident_id
    assert intake.bus.sent == []


async def test_an_idempotency_key_reused_for_another_outage_is_a_conflict(intake: Intake) -> None:
    incident_id = incident_id_for_request("noc-desk", "noc-42")
    intake.store(Collections.INCIDENTS, incident_document(incident_id))

    response = await intake.declare(title="SMS delivery delayed")

    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert intake.bus.sent == []


async def test_a_declaration_without_an_idempotency_key_is_refused_naming_the_header(
    intake: Intake,
) -> None:
    response = await intake.declare(idempotency_key=None)

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [("header", "Idempotency-Key")]
    assert intake.bus.sent == []


async def test_a_customer_may_not_declare_an_outage(intake: Intake) -> None:
    response = await intake.declare(key=ACME)

    assert response.status_code == 403
    assert intake.bus.sent == []


async def test_without_kafka_a_declaration_is_refused_and_nothing_is_sent(intake: Intake) -> None:
    intake.bus.failure = KafkaUnavailable("Kafka is unreachable")

    response = await intake.declare()

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert intake.bus.sent == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scope": {}}, ("body", "scope")),
        ({"scope": {"regions": []}}, ("body", "scope")),
        ({"scope": {"regions": ["$ne"]}}, ("body", "scope", "regions", 0)),
        ({"scope": {"number_ranges": ["34"]}}, ("body", "scope", "number_ranges", 0)),
        ({"scope": {"regions": [f"r{n}" for n in range(201)]}}, ("body", "scope", "regions")),
        ({"scope": {"planets": ["mars"]}}, ("body", "scope", "planets")),
        ({"severity": "apocalyptic"}, ("body", "severity")),
        ({"title": ""}, ("body", "title")),
        ({"message": "x" * 5001}, ("body", "message")),
        ({"detected": True}, ("body", "detected")),
    ],
    ids=[
        "empty-scope",
        "scope-of-empty-lists",
        "operator-as-region",
        "number-range-not-e164",
        "too-many-regions",
        "unknown-scope-attribute",
        "unknown-severity",
        "empty-title",
        "message-too-long",
        "only-the-workflow-detects",
    ],
)
async def test_a_bad_declaration_is_refused_naming_the_field(
    intake: Intake, changes: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    response = await intake.declare(**changes)

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [field]
    assert intake.bus.sent == []


# --- updating and resolving -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "command_type", "fields"),
    [
        (
            "updates",
            {"message": "Traffic moved to carrier A.", "severity": "major"},
            UpdateIncident,
            {"message": "Traffic moved to carrier A.", "severity": Severity.MAJOR},
        ),
        (
            "updates",
            {"message": "Still rerouting."},
            UpdateIncident,
            {"message": "Still rerouting.", "severity": None},
        ),
        (
            "resolve",
            {"message": "Calls to Madrid work again."},
            ResolveIncident,
            {"message": "Calls to Madrid work again."},
        ),
    ],
    ids=["update-with-new-severity", "update", "resolve"],
)
async def test_an_update_or_resolution_becomes_its_command_keyed_by_the_incident(
    intake: Intake,
    path: str,
    body: dict[str, Any],
    command_type: type[AnyCommand],
    fields: dict[str, Any],
) -> None:
    intake.store(Collections.INCIDENTS, incident_document())

    response = await intake.post(path, body)

    assert response.status_code == 202, response.text
    assert response.json()["status_url"] == f"/v1/incidents/{INCIDENT}"
    ((command, key),) = intake.bus.sent
    assert isinstance(command, command_type)
    assert key == INCIDENT
    assert {name: getattr(command, name) for name in fields} == fields


@pytest.mark.parametrize("path", ["updates", "resolve"])
async def test_an_incident_that_is_not_there_is_not_found(intake: Intake, path: str) -> None:
    response = await intake.post(path, {"message": "Anyone there?"})

    assert response.status_code == 404
    assert INCIDENT in response.json()["detail"]
    assert intake.bus.sent == []


@pytest.mark.parametrize("path", ["updates", "resolve"])
async def test_a_resolved_incident_takes_no_more_updates(intake: Intake, path: str) -> None:
    intake.store(Collections.INCIDENTS, incident_document(status="resolved"))

    response = await intake.post(path, {"message": "One more thing"})

    assert response.status_code == 409
    assert "already resolved" in response.json()["detail"]
    assert intake.bus.sent == []


@pytest.mark.parametrize(("key", "status"), [(MONITORING, 403), (ACME, 403)])
async def test_only_an_operator_updates_or_resolves(intake: Intake, key: str, status: int) -> None:
    intake.store(Collections.INCIDENTS, incident_document())

    response = await intake.post("resolve", {"message": "Fixed"}, key=key)

    assert response.status_code == status
    assert intake.bus.sent == []


async def test_a_malformed_incident_id_is_refused_naming_it(intake: Intake) -> None:
    response = await intake.post("resolve", {"message": "Fixed"}, incident_id="INC-$ne")

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [("path", "incident_id")]


async def test_an_empty_update_is_refused_naming_the_message(intake: Intake) -> None:
    intake.store(Collections.INCIDENTS, incident_document())

    response = await intake.post("updates", {"message": ""})

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [("body", "message")]


# --- operators read incidents and their live reach -----------------------------------------


def an_outage_in_progress(intake: Intake) -> None:
    updated = stored_event(IncidentUpdated, "evt-updated", update_number=1, message="Rerouting.")
    intake.store(
        Collections.INCIDENTS,
        incident_document(
            events=[stored_event(IncidentDeclared, "evt-declared"), updated], update_count=1
        ),
        incident_document(ELSEWHERE, status="resolved", declared_at=NOW - timedelta(days=1)),
    )
    intake.store(
        Collections.TICKETS,
        ticket_document("TCK-L1NKED0000000001", INCIDENT),
        ticket_document("TCK-L1NKED0000000002", INCIDENT, created_at=NOW + timedelta(minutes=5)),
        ticket_document("TCK-UNL1NKED00000003", None),
    )
    intake.store(
        Collections.BROADCASTS,
        {
            "_id": "evt-declared",
            "incident_id": INCIDENT,
            "event_type": "IncidentDeclared",
            "affected_customers": 3,
            "recipients": 4,
            "chunks": 1,
            "planned_at": NOW,
        },
        {
            "_id": "evt-updated",
            "incident_id": INCIDENT,
            "event_type": "IncidentUpdated",
            "affected_customers": 2,
            "recipients": 2,
            "chunks": 1,
            "planned_at": NOW + timedelta(minutes=30),
        },
    )
    intake.store(
        Collections.BROADCAST_CHUNKS,
        chunk("evt-declared", 0, delivered=2, failed=1, pending=0),
        chunk("evt-declared", 1, pending=1),
        chunk("evt-updated", 0, pending=1),
        chunk("evt-other", 0, ELSEWHERE, delivered=1),
    )


async def test_an_operator_sees_each_broadcasts_reach_counted_from_what_is_stored(
    intake: Intake,
) -> None:
    an_outage_in_progress(intake)

    response = await intake.get(f"/v1/incidents/{INCIDENT}")

    assert response.status_code == 200, response.text
    incident = response.json()
    assert incident["linked_tickets"] == 2
    assert incident["counts"]["broadcasts"] == [
        {
            "event_id": "evt-declared",
            "event_type": "IncidentDeclared",
            "planned_at": "2026-11-25T09:30:00Z",
            "affected": 3,
            "recipients": 4,
            "notified": 4,
            "delivered": 2,
            "failed": 1,
            "pending": 1,
        },
        {
            "event_id": "evt-updated",
            "event_type": "IncidentUpdated",
            "planned_at": "2026-11-25T10:00:00Z",
            "affected": 2,
            "recipients": 2,
            "notified": 1,
            "delivered": 0,
            "failed": 0,
            "pending": 1,
        },
    ]
    assert incident["counts"]["total"] == {
        "affected": 2,
        "recipients": 6,
        "notified": 5,
        "delivered": 2,
        "failed": 1,
        "pending": 2,
    }


async def test_the_counts_are_read_from_the_chunks_never_from_the_notifications(
    intake: Intake,
) -> None:
    an_outage_in_progress(intake)

    await intake.get(f"/v1/incidents/{INCIDENT}")

    notifications = intake.database[Collections.NOTIFICATIONS]
    assert notifications.queries == []
    assert notifications.pipelines == []
    assert intake.database[Collections.BROADCAST_CHUNKS].queries == [{"incident_id": INCIDENT}]


async def test_an_incident_shows_its_timeline_and_state(intake: Intake) -> None:
    an_outage_in_progress(intake)

    incident = (await intake.get(f"/v1/incidents/{INCIDENT}")).json()

    assert [event["type"] for event in incident["events"]] == [
        "IncidentDeclared",
        "IncidentUpdated",
    ]
    assert incident["status"] == "open"
    assert incident["update_count"] == 1
    assert incident["scope"]["regions"] == ["eu-south"]


async def test_a_broadcast_not_yet_planned_shows_its_event_with_nothing_counted(
    intake: Intake,
) -> None:
    intake.store(Collections.INCIDENTS, incident_document())

    incident = (await intake.get(f"/v1/incidents/{INCIDENT}")).json()

    (broadcast,) = incident["counts"]["broadcasts"]
    assert broadcast["event_id"] == "evt-declared"
    assert broadcast["planned_at"] is None
    assert broadcast["notified"] == broadcast["affected"] == 0
    assert incident["linked_tickets"] == 0


async def test_an_operator_lists_incidents_newest_first_filtered_by_status(
    intake: Intake,
) -> None:
    an_outage_in_progress(intake)

    everything = (await intake.get("/v1/incidents")).json()
    resolved = (await intake.get("/v1/incidents", status="resolved")).json()

    assert [i["incident_id"] for i in everything] == [INCIDENT, ELSEWHERE]
    assert [i["incident_id"] for i in resolved] == [ELSEWHERE]
    assert "events" not in everything[0]


async def test_an_operator_lists_the_tickets_linked_to_an_incident(intake: Intake) -> None:
    an_outage_in_progress(intake)

    response = await intake.get(f"/v1/incidents/{INCIDENT}/tickets")

    assert response.status_code == 200, response.text
    tickets = response.json()
    assert [t["ticket_id"] for t in tickets] == ["TCK-L1NKED0000000002", "TCK-L1NKED0000000001"]
    assert {t["incident_id"] for t in tickets} == {INCIDENT}
    assert tickets[0]["affected"] == {
        "region": "eu-south",
        "carrier_route": "carrier-b",
        "number_range": None,
        "product": None,
    }


@pytest.mark.parametrize("path", [f"/v1/incidents/{INCIDENT}", f"/v1/incidents/{INCIDENT}/tickets"])
async def test_reading_an_incident_that_is_not_there_is_not_found(
    intake: Intake, path: str
) -> None:
    response = await intake.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("path", [f"/v1/incidents/{INCIDENT}", f"/v1/incidents/{INCIDENT}/tickets"])
async def test_a_customer_cannot_read_an_incidents_internals(intake: Intake, path: str) -> None:
    an_outage_in_progress(intake)

    response = await intake.get(path, key=ACME)

    assert response.status_code == 403


async def test_a_bad_status_filter_is_refused_naming_it(intake: Intake) -> None:
    response = await intake.get("/v1/incidents", status={"$ne": "open"})

    assert response.status_code == 422
    assert intake.incidents.queries == []


# --- customers see what hits them ----------------------------------------------------------


def incidents_around_the_world(intake: Intake) -> None:
    intake.store(
        Collections.CUSTOMERS,
        customer_document("acme-telecom", regions=["eu-south"], number_ranges=["+3491"]),
        customer_document("globex", regions=["us-east"]),
    )
    intake.store(
        Collections.INCIDENTS,
        incident_document(),  # eu-south, carrier-b
        incident_document(
            "INC-NUMBERS000000003",
            scope={"number_ranges": ["+34"]},
            declared_at=NOW + timedelta(minutes=1),
        ),
        incident_document(
            "INC-US0000000000004", scope={"regions": ["us-east"]}, title="US East down"
        ),
        incident_document(
            "INC-NAMED0000000005",
            scope={"customer_ids": ["globex"]},
            declared_at=NOW - timedelta(minutes=1),
        ),
        incident_document("INC-PAST000000000006", status="resolved"),
    )


@pytest.mark.parametrize(
    ("key", "found"),
    [
        (ACME, ["INC-NUMBERS000000003", INCIDENT]),
        (GLOBEX, ["INC-US0000000000004", "INC-NAMED0000000005"]),
    ],
    ids=["by-region-and-number-range", "by-region-and-by-name"],
)
async def test_a_customer_sees_only_the_open_incidents_that_affect_them(
    intake: Intake, key: str, found: list[str]
) -> None:
    incidents_around_the_world(intake)

    response = await intake.get("/v1/incidents", key=key)

    assert response.status_code == 200, response.text
    assert [i["incident_id"] for i in response.json()] == found


async def test_a_customer_sees_an_incident_without_its_scope(intake: Intake) -> None:
    incidents_around_the_world(intake)

    (_, madrid) = (await intake.get("/v1/incidents", key=ACME)).json()

    assert madrid == {
        "incident_id": INCIDENT,
        "title": DECLARATION["title"],
        "severity": "critical",
        "status": "open",
        "message": DECLARATION["message"],
        "declared_at": "2026-11-25T09:30:00Z",
        "updated_at": "2026-11-25T09:30:00Z",
        "resolved_at": None,
    }


async def test_a_customer_missing_from_the_directory_sees_only_incidents_naming_them(
    intake: Intake,
) -> None:
    intake.store(
        Collections.INCIDENTS,
        incident_document(),
        incident_document("INC-NAMED0000000005", scope={"customer_ids": ["acme-telecom"]}),
    )

    response = await intake.get("/v1/incidents", key=ACME)

    assert [i["incident_id"] for i in response.json()] == ["INC-NAMED0000000005"]


async def test_a_customer_looks_back_at_resolved_incidents_that_hit_them(intake: Intake) -> None:
    incidents_around_the_world(intake)

    response = await intake.get("/v1/incidents", key=ACME, status="resolved")

    assert [i["incident_id"] for i in response.json()] == ["INC-PAST000000000006"]
    assert response.json()[0]["resolved_at"] == "2026-11-25T11:30:00Z"


# --- tickets carry what they are about and the outage they belong to ------------------------


async def test_a_ticket_names_the_affected_service_and_shows_its_incident(intake: Intake) -> None:
    intake.store(Collections.TICKETS, ticket_document("TCK-L1NKED0000000001", INCIDENT))

    for key in (AGENT, ACME):
        ticket = (await intake.get("/v1/tickets/TCK-L1NKED0000000001", key=key)).json()

        assert ticket["incident_id"] == INCIDENT
        assert ticket["affected"]["carrier_route"] == "carrier-b"


async def test_a_reported_problem_carries_the_affected_service_to_the_workflow(
    intake: Intake,
) -> None:
    report = {
        "customer_id": "acme-telecom",
        "category": "service_outage",
        "summary": "No outbound calls to Madrid",
        "reporting_system": "crm",
        "affected": {"region": "eu-south", "number_range": "+3491"},
    }

    response = await intake.http.post(
        "/v1/tickets", json=report, headers={API_KEY_HEADER: MONITORING}
    )

    assert response.status_code == 202, response.text
    (command,) = intake.sent()
    details = command.model_dump()["details"]
    assert details["affected"] == {
        "region": "eu-south",
        "carrier_route": None,
        "number_range": "+3491",
        "product": None,
    }


async def test_a_bad_affected_service_is_refused_naming_the_field(intake: Intake) -> None:
    report = {
        "customer_id": "acme-telecom",
        "category": "service_outage",
        "summary": "No outbound calls to Madrid",
        "reporting_system": "crm",
        "affected": {"region": "EU South"},
    }

    response = await intake.http.post(
        "/v1/tickets", json=report, headers={API_KEY_HEADER: MONITORING}
    )

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [("body", "affected", "region")]
