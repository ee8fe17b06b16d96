"""The intake HTTP API with its stores faked: auth, validation, idempotency, Kafka outages."""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import ServerSelectionTimeoutError

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller
from services.intake.commands import AnyCommand, CommandBus, KafkaOutcomeUnknown, KafkaUnavailable
from services.intake.customers.schemas import NotificationView
from services.intake.settings import IntakeSettings
from services.intake.tickets.documents import TicketRecord
from services.intake.tickets.queries import Reads
from services.intake.tickets.schemas import TicketFilters
from shared.events import Actor, OpenTicket, TicketDetails
from shared.settings import Environment
from shared.vocabulary import Role

RETRY_AFTER_S = 7
SETTINGS = IntakeSettings(
    environment=Environment.TEST,
    kafka_bootstrap="127.0.0.1:1",
    mongo_url="mongodb://127.0.0.1:1/",
    retry_after_s=RETRY_AFTER_S,
)
CALLERS = {
    "key-crm": Caller(name="crm", role=Role.SYSTEM),
    "key-billing": Caller(name="billing", role=Role.SYSTEM),
    "key-agent": Caller(name="agent-desk", role=Role.AGENT),
    "key-acme": Caller(name="acme-portal", role=Role.CUSTOMER, customer_id="acme-telecom"),
}
REPORT: dict[str, Any] = {
    "customer_id": "acme-telecom",
    "category": "call_quality",
    "summary": "Choppy audio on outbound calls to Madrid",
    "call_ids": ["c-20261125-0001"],
    "affected_users": 3,
    "reporting_system": "crm",
}


class FakeApiKeys(ApiKeys):
    def __init__(self) -> None:
        self.callers = dict(CALLERS)

    async def caller_for(self, key: str) -> Caller | None:
        return self.callers.get(key)


class FakeBus(CommandBus):
    """Records what Kafka acknowledged; or fails the way Kafka does when told to."""

    def __init__(self) -> None:
        self.sent: list[tuple[AnyCommand, str]] = []
        self.failure: Exception | None = None

    async def send(self, command: AnyCommand, key: str) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append((command, key))


class FakeReads(Reads):
    """What the workflow has stored so far: request hashes and notifications."""

    def __init__(self) -> None:
        self.hashes: dict[str, str] = {}
        self.hash_reads: list[str] = []
        self.notification_reads: list[str] = []
        self.failure: Exception | None = None

    def stored_by_workflow(self, command: OpenTicket) -> None:
        self.hashes[command.ticket_id] = command.request_hash

    async def request_hash(self, ticket_id: str) -> str | None:
        self.hash_reads.append(ticket_id)
        if self.failure:
            raise self.failure
        return self.hashes.get(ticket_id)

    async def ticket(self, ticket_id: str, caller: Caller) -> TicketRecord | None:
        return None

    async def tickets(self, filters: TicketFilters, caller: Caller) -> list[TicketRecord]:
        return []

    async def notifications(self, customer_id: str, limit: int) -> list[NotificationView]:
        self.notification_reads.append(customer_id)
        return []


@dataclass
class Intake:
    app: FastAPI
    http: httpx.AsyncClient
    bus: FakeBus
    reads: FakeReads

    async def open_ticket(
        self, key: str | None = "key-crm", idempotency_key: str | None = None, **report: Any
    ) -> httpx.Response:
        headers = {API_KEY_HEADER: key} if key else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self.http.post("/v1/tickets", json={**REPORT, **report}, headers=headers)

    def commands(self) -> list[OpenTicket]:
        return [command for command, _ in self.bus.sent if isinstance(command, OpenTicket)]


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    app = create_app(SETTINGS)
    bus, reads = FakeBus(), FakeReads()
    app.state.bus, app.state.reads, app.state.api_keys = bus, reads, FakeApiKeys()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Intake(app, http, bus, reads)


def problem_fields(response: httpx.Response) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in response.json()["errors"]]


async def test_a_request_without_an_api_key_is_refused_naming_the_header(intake: Intake) -> None:
    response = await intake.open_ticket(key=None)

    assert response.status_code == 401
    assert API_KEY_HEADER in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == API_KEY_HEADER
    assert intake.bus.sent == []


async def test_an_unknown_api_key_is_refused(intake: Intake) -> None:
    response = await intake.open_ticket(key="key-stolen")

    assert response.status_code == 401
    assert intake.bus.sent == []


async def test_an_anonymous_caller_is_refused_before_the_body_is_looked_at(
    intake: Intake,
) -> None:
    response = await intake.open_ticket(key=None, category="not-a-category")

    assert response.status_code == 401


async def test_a_customer_may_not_open_tickets(intake: Intake) -> None:
    response = await intake.open_ticket(key="key-acme")

    assert response.status_code == 403
    assert "system, agent" in response.json()["detail"]
    assert intake.bus.sent == []


async def test_a_reported_problem_is_accepted_once_kafka_acknowledged_it(intake: Intake) -> None:
    response = await intake.open_ticket(idempotency_key="crm-4711")

    assert response.status_code == 202
    ticket_id = response.json()["ticket_id"]
    assert response.headers["Location"] == f"/v1/tickets/{ticket_id}"
    assert response.json()["url"] == f"/v1/tickets/{ticket_id}"
    ((command, key),) = intake.bus.sent
    assert isinstance(command, OpenTicket)
    assert key == command.ticket_id == ticket_id
    assert command.details == TicketDetails.model_validate(REPORT)
    assert command.issued_by == Actor(role=Role.SYSTEM, name="crm")
    digest = hashlib.sha256(command.details.model_dump_json().encode()).hexdigest()
    assert command.request_hash == digest


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": None}, ("body", "summary")),
        ({"summary": ""}, ("body", "summary")),
        ({"summary": "x" * 201}, ("body", "summary")),
        ({"category": "printer_on_fire"}, ("body", "category")),
        ({"customer_id": "$where"}, ("body", "customer_id")),
        ({"customer_id": {"$ne": None}}, ("body", "customer_id")),
        ({"call_ids": ["c-1", "not a call id"]}, ("body", "call_ids", 1)),
        ({"affected_users": 0}, ("body", "affected_users")),
        ({"priority": "p1"}, ("body", "priority")),
    ],
    ids=[
        "summary-missing",
        "summary-empty",
        "summary-too-long",
        "unknown-category",
        "operator-as-customer-id",
        "query-object-as-customer-id",
        "bad-call-id",
        "no-affected-users",
        "unexpected-field",
    ],
)
async def test_a_bad_report_is_refused_naming_the_field(
    intake: Intake, change: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    report = {k: v for k, v in {**REPORT, **change}.items() if v is not None}

    response = await intake.http.post(
        "/v1/tickets", json=report, headers={API_KEY_HEADER: "key-crm"}
    )

    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert intake.bus.sent == []


async def test_an_empty_idempotency_key_is_refused_naming_the_header(intake: Intake) -> None:
    response = await intake.open_ticket(idempotency_key="")

    assert response.status_code == 422
    assert problem_fields(response) == [("header", "Idempotency-Key")]


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (KafkaUnavailable("Kafka is unreachable"), "nothing was stored"),
        (KafkaOutcomeUnknown("KafkaTimeoutError"), "retry with the same Idempotency-Key"),
    ],
    ids=["kafka-unreachable", "kafka-did-not-answer-in-time"],
)
async def test_without_kafka_the_caller_is_told_to_retry_later_and_nothing_is_accepted(
    intake: Intake, failure: Exception, says: str
) -> None:
    intake.bus.failure = failure

    response = await intake.open_ticket(idempotency_key="crm-4711")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert says in response.json()["detail"]
    assert intake.bus.sent == []


async def test_without_the_database_the_caller_is_told_to_retry_later_and_nothing_is_sent(
    intake: Intake,
) -> None:
    intake.reads.failure = ServerSelectionTimeoutError("no servers")

    response = await intake.open_ticket(idempotency_key="crm-4711")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "database" in response.json()["detail"]
    assert intake.bus.sent == []


async def test_a_retry_after_an_outage_names_the_same_ticket(intake: Intake) -> None:
    intake.bus.failure = KafkaUnavailable("Kafka is unreachable")
    await intake.open_ticket(idempotency_key="crm-4711")
    intake.bus.failure = None

    retried = await intake.open_ticket(idempotency_key="crm-4711")

    assert retried.status_code == 202
    assert [c.ticket_id for c in intake.commands()] == [retried.json()["ticket_id"]]


async def test_a_retry_before_the_ticket_is_stored_repeats_the_very_same_command(
    intake: Intake,
) -> None:
    first = await intake.open_ticket(idempotency_key="crm-4711")
    again = await intake.open_ticket(idempotency_key="crm-4711")

    assert first.json()["ticket_id"] == again.json()["ticket_id"]
    # The workflow deduplicates on the ticket id and derives its event ids from the command id.
    sent, resent = intake.commands()
    assert (sent.ticket_id, sent.command_id) == (resent.ticket_id, resent.command_id)
    assert sent.details == resent.details


async def test_a_retry_after_the_ticket_is_stored_publishes_nothing_new(intake: Intake) -> None:
    first = await intake.open_ticket(idempotency_key="crm-4711")
    intake.reads.stored_by_workflow(intake.commands()[0])

    again = await intake.open_ticket(idempotency_key="crm-4711")

    assert again.status_code == 202
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert len(intake.bus.sent) == 1


async def test_an_idempotency_key_reused_for_another_problem_is_a_conflict(
    intake: Intake,
) -> None:
    await intake.open_ticket(idempotency_key="crm-4711")
    intake.reads.stored_by_workflow(intake.commands()[0])

    response = await intake.open_ticket(idempotency_key="crm-4711", summary="Number not ported")

    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert len(intake.bus.sent) == 1


async def test_the_same_idempotency_key_from_another_caller_opens_another_ticket(
    intake: Intake,
) -> None:
    ours = await intake.open_ticket(key="key-crm", idempotency_key="4711")
    theirs = await intake.open_ticket(key="key-billing", idempotency_key="4711")

    assert ours.json()["ticket_id"] != theirs.json()["ticket_id"]


async def test_without_an_idempotency_key_each_request_opens_its_own_ticket(
    intake: Intake,
) -> None:
    first = await intake.open_ticket()
    second = await intake.open_ticket()

    assert first.json()["ticket_id"] != second.json()["ticket_id"]
    assert len(intake.bus.sent) == 2


async def test_a_request_without_an_idempotency_key_reads_nothing_from_the_store(
    intake: Intake,
) -> None:
    """Its ticket id is new by construction, so there is no earlier request to compare with."""
    await intake.open_ticket()
    await intake.open_ticket(idempotency_key="retry-safe")

    assert len(intake.commands()) == 2
    assert intake.reads.hash_reads == [intake.commands()[1].ticket_id]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/tickets/TCK-lowercase", ("path", "ticket_id")),
        ("/v1/tickets?call_id=%24ne", ("query", "call_id")),
        ("/v1/tickets?priority=p9", ("query", "priority")),
        ("/v1/tickets?call_id=c-1&limit=0", ("query", "limit")),
        ("/v1/customers/%24where/notifications", ("path", "customer_id")),
    ],
    ids=["bad-ticket-id", "operator-as-call-id", "unknown-priority", "zero-limit", "bad-customer"],
)
async def test_a_bad_read_is_refused_naming_the_parameter(
    intake: Intake, path: str, field: tuple[str, ...]
) -> None:
    response = await intake.http.get(path, headers={API_KEY_HEADER: "key-agent"})

    assert response.status_code == 422
    assert problem_fields(response) == [field]


async def test_a_ticket_that_is_not_there_is_not_found(intake: Intake) -> None:
    response = await intake.http.get(
        "/v1/tickets/TCK-0123456789ABCDEF", headers={API_KEY_HEADER: "key-agent"}
    )

    assert response.status_code == 404
    assert "TCK-0123456789ABCDEF" in response.json()["detail"]


@pytest.mark.parametrize(
    ("key", "customer_id", "status_code"),
    [
        ("key-acme", "acme-telecom", 200),
        ("key-acme", "globex", 404),
        ("key-agent", "globex", 200),
    ],
    ids=["own", "another-customers", "agent"],
)
async def test_a_customer_reads_only_their_own_notifications(
    intake: Intake, key: str, customer_id: str, status_code: int
) -> None:
    response = await intake.http.get(
        f"/v1/customers/{customer_id}/notifications", headers={API_KEY_HEADER: key}
    )

    assert response.status_code == status_code
    assert intake.reads.notification_reads == ([customer_id] if status_code == 200 else [])


async def test_only_an_agent_may_change_a_customer(intake: Intake) -> None:
    response = await intake.http.put(
        "/v1/customers/acme-telecom",
        json={"name": "ACME Telecom"},
        headers={API_KEY_HEADER: "key-crm"},
    )

    assert response.status_code == 403
    assert "agent" in response.json()["detail"]


async def test_a_webhook_secret_too_short_to_be_safe_is_refused(intake: Intake) -> None:
    response = await intake.http.put(
        "/v1/customers/acme-telecom",
        json={
            "name": "ACME",
            "contacts": [
                {
                    "contact_id": "ops",
                    "name": "NOC",
                    "webhook": {"url": "https://h.example/x", "secret": "short"},
                }
            ],
        },
        headers={API_KEY_HEADER: "key-agent"},
    )

    assert response.status_code == 422
    assert problem_fields(response) == [("body", "contacts", 0, "webhook", "secret")]
