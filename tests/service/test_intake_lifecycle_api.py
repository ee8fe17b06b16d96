"""The support lifecycle over HTTP: agents work tickets, customers follow and answer their own.

The bus is faked (it records what Kafka would have acknowledged) and the ticket collection is
a small in-memory stand-in that answers the very queries intake's reads send to MongoDB.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller
from services.intake.commands import AnyCommand, CommandBus, KafkaUnavailable
from services.intake.settings import IntakeSettings
from services.intake.tickets.queries import Reads
from shared.events import (
    WORKFLOW,
    Actor,
    AddCallIds,
    AddCustomerComment,
    AddInternalNote,
    AssignTicket,
    ChangeStatus,
    Command,
    ConfirmResolution,
    CustomerCommented,
    CustomerResponded,
    Event,
    InternalNoteAdded,
    InvestigationStarted,
    OpenTicket,
    PostPublicUpdate,
    ProgressUpdateSent,
    PublicUpdatePosted,
    RecordDevelopmentProgress,
    ReportNotFixed,
    RequestDevelopment,
    SlaBreached,
    TicketDetails,
    TicketEscalated,
    TicketOpened,
    TicketTriaged,
)
from shared.mongo import Database, Document
from shared.settings import Environment
from shared.vocabulary import (
    Category,
    DevelopmentStatus,
    Priority,
    Role,
    SlaClock,
    Team,
    TicketStatus,
)
from tests.service.fakes import Cursor

SETTINGS = IntakeSettings(
    environment=Environment.TEST,
    kafka_bootstrap="127.0.0.1:1",
    mongo_url="mongodb://127.0.0.1:1/",
)
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ACME_TICKET = "TCK-ACME000000000001"
GLOBEX_TICKET = "TCK-GLOBEX0000000001"
DEV_TICKET = "DEV-0123456789ABCDEF"

AGENT, CRM, ACME, GLOBEX = "key-agent", "key-crm", "key-acme", "key-globex"
CALLERS = {
    AGENT: Caller(name="agent-desk", role=Role.AGENT),
    CRM: Caller(name="crm", role=Role.SYSTEM),
    ACME: Caller(name="acme-portal", role=Role.CUSTOMER, customer_id="acme-telecom"),
    GLOBEX: Caller(name="globex-portal", role=Role.CUSTOMER, customer_id="globex"),
}


# --- fakes --------------------------------------------------------------------------------


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


_MISSING = object()


def _at(document: Document, path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _equals(value: Any, wanted: Any) -> bool:
    if wanted is None:
        return value is _MISSING or value is None
    if isinstance(value, list):
        return wanted in value or value == wanted
    return bool(value == wanted)


def _ordered(value: Any) -> bool:
    return value is not _MISSING and value is not None


# Only the operators the store suite covers; anything else fails the test loudly.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$in": lambda value, operand: any(_equals(value, w) for w in operand),
    "$ne": lambda value, operand: not _equals(value, operand),
    "$lte": lambda value, operand: _ordered(value) and value <= operand,
    "$gte": lambda value, operand: _ordered(value) and value >= operand,
}


def matches(document: Document, query: Document) -> bool:
    for key, condition in query.items():
        if key == "$or":
            if not any(matches(document, alternative) for alternative in condition):
                return False
        elif isinstance(condition, dict):
            value = _at(document, key)
            if not all(OPERATORS[op](value, operand) for op, operand in condition.items()):
                return False
        elif not _equals(_at(document, key), condition):
            return False
    return True


@dataclass
class FakeTickets:
    """The ticket collection, answering find and find_one; it remembers every query."""

    documents: list[Document] = field(default_factory=list)
    queries: list[Document] = field(default_factory=list)

    async def find_one(self, query: Document, projection: Any = None) -> Document | None:
        self.queries.append(query)
        return next((d for d in self.documents if matches(d, query)), None)

    def find(
        self,
        query: Document,
        projection: Any = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
    ) -> Cursor:
        self.queries.append(query)
        found = [d for d in self.documents if matches(d, query)]
        for key, direction in reversed(sort or []):
            found.sort(key=lambda d: _at(d, key), reverse=direction < 0)
        return Cursor(found[:limit] if limit else found)


class FakeDatabase(dict[str, FakeTickets]):
    def __missing__(self, name: str) -> FakeTickets:
        return self.setdefault(name, FakeTickets())


# --- documents as the workflow stores them ------------------------------------------------


def ticket_document(
    ticket_id: str = ACME_TICKET,
    status: TicketStatus = TicketStatus.INVESTIGATING,
    customer_id: str = "acme-telecom",
    **changes: Any,
) -> Document:
    clocks = {
        "first_response_due": NOW + timedelta(hours=1),
        "next_update_due": NOW + timedelta(hours=4),
        "resolution_due": NOW + timedelta(days=3),
        "close_due": None,
        "paused_since": None,
        "first_response_breached": False,
        "resolution_breached": False,
    }
    document = {
        "_id": ticket_id,
        "ticket_id": ticket_id,
        "version": 3,
        "status": status.value,
        "customer_id": customer_id,
        "category": "call_quality",
        "summary": "Choppy audio on outbound calls to Madrid",
        "description": "Since 09:00 UTC, outbound calls break up every few seconds.",
        "call_ids": ["c-20261125-0001"],
        "affected_users": 3,
        "reporting_system": "crm",
        "team": "level_2_support",
        "teams": ["level_2_support"],
        "priority": "p2",
        "tier": "level_2",
        "reopen_count": 0,
        "development": None,
        "follow_up_of": None,
        "alternative_proposed": False,
        "first_responded_at": None,
        "clocks": {**clocks, **changes.pop("clocks", {})},
        "request_hash": "a" * 64,
        "created_at": NOW,
        "updated_at": NOW,
        "next_timer_at": NOW + timedelta(hours=1),
        "timer_claimed_until": None,
        "events": [],
        "outbox_pending": [],
    }
    return {**document, **changes}


def in_development(status: TicketStatus, development: DevelopmentStatus) -> Document:
    linked = {
        "development_ticket_id": DEV_TICKET,
        "summary": "Jitter buffer drops packets under load",
        "status": development.value,
        "opened_at": NOW,
    }
    return ticket_document(status=status, development=linked)


def stored_event(event_type: type[Event], actor: Actor = WORKFLOW, **fields: Any) -> Document:
    event = event_type(
        event_id=str(uuid.uuid4()),
        occurred_at=NOW,
        ticket_id=ACME_TICKET,
        customer_id="acme-telecom",
        actor=actor,
        **fields,
    )
    return event.model_dump(mode="json")


# --- the intake under test ----------------------------------------------------------------


@dataclass
class Intake:
    app: FastAPI
    http: httpx.AsyncClient
    bus: FakeBus
    tickets: FakeTickets
    deliveries: FakeTickets

    def store(self, *documents: Document) -> None:
        self.tickets.documents.extend(documents)

    def record_deliveries(self, ticket_id: str, *records: Document) -> None:
        """As the workflow records them: one document per delivery event, beside the ticket."""
        self.deliveries.documents.extend(
            {"_id": r["event_id"], "ticket_id": ticket_id, **r} for r in records
        )

    async def post(
        self,
        key: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        ticket_id: str = ACME_TICKET,
    ) -> httpx.Response:
        headers = {API_KEY_HEADER: key}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        url = f"/v1/tickets/{ticket_id}/{path}"
        return await self.http.post(url, json=body, headers=headers)

    async def get(self, key: str, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers={API_KEY_HEADER: key})

    def sent(self) -> list[Command]:
        return [command for command, _ in self.bus.sent if isinstance(command, Command)]


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    app = create_app(SETTINGS)
    bus, database = FakeBus(), FakeDatabase()
    app.state.bus, app.state.api_keys = bus, FakeApiKeys()
    app.state.reads = Reads(cast(Database, database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Intake(app, http, bus, database["tickets"], database["ticket_deliveries"])


# --- every action is one command on Kafka, keyed by its ticket ----------------------------


@dataclass(frozen=True)
class Action:
    path: str
    key: str
    body: dict[str, Any]
    document: Document
    command_type: type[Command]
    fields: dict[str, Any]


ACTIONS = {
    "agent-assigns": Action(
        "assignment",
        AGENT,
        {"team": "telecom_engineering", "add_teams": ["development"], "reason": "SIP trunk"},
        ticket_document(),
        AssignTicket,
        {"team": Team.TELECOM_ENGINEERING, "add_teams": [Team.DEVELOPMENT], "reason": "SIP trunk"},
    ),
    "agent-asks-the-customer": Action(
        "status",
        AGENT,
        {"status": "waiting_on_customer", "reason": "Please send a packet capture."},
        ticket_document(),
        ChangeStatus,
        {"status": TicketStatus.WAITING_ON_CUSTOMER, "reason": "Please send a packet capture."},
    ),
    "agent-posts-an-update": Action(
        "updates",
        AGENT,
        {"message": "We reproduced the problem on the Madrid route."},
        ticket_document(),
        PostPublicUpdate,
        {"message": "We reproduced the problem on the Madrid route."},
    ),
    "agent-notes": Action(
        "notes",
        AGENT,
        {"text": "Carrier B drops RTP above 200 calls."},
        ticket_document(),
        AddInternalNote,
        {"text": "Carrier B drops RTP above 200 calls."},
    ),
    "system-adds-call-ids": Action(
        "call-ids",
        CRM,
        {"call_ids": ["c-20261125-0007", "c-20261125-0008"]},
        ticket_document(),
        AddCallIds,
        {"call_ids": ["c-20261125-0007", "c-20261125-0008"]},
    ),
    "agent-requests-development": Action(
        "development",
        AGENT,
        {"summary": "Jitter buffer drops packets under load", "reason": "code change"},
        ticket_document(),
        RequestDevelopment,
        {"summary": "Jitter buffer drops packets under load", "reason": "code change"},
    ),
    "tracker-reports-testing": Action(
        "development/progress",
        CRM,
        {"development_ticket_id": DEV_TICKET, "status": "testing"},
        in_development(TicketStatus.FIX_IN_PROGRESS, DevelopmentStatus.FIX_IN_PROGRESS),
        RecordDevelopmentProgress,
        {"development_ticket_id": DEV_TICKET, "status": DevelopmentStatus.TESTING},
    ),
    "customer-comments": Action(
        "comments",
        ACME,
        {"message": "It also happens to Barcelona."},
        ticket_document(),
        AddCustomerComment,
        {"message": "It also happens to Barcelona."},
    ),
    "customer-confirms": Action(
        "confirmation",
        ACME,
        {"comment": "Calls are clear again."},
        ticket_document(status=TicketStatus.AWAITING_CONFIRMATION),
        ConfirmResolution,
        {"comment": "Calls are clear again."},
    ),
    "customer-reports-not-fixed": Action(
        "reopen",
        ACME,
        {"comment": "Still choppy this morning."},
        ticket_document(status=TicketStatus.AWAITING_CONFIRMATION),
        ReportNotFixed,
        {"comment": "Still choppy this morning."},
    ),
}
AGENT_ONLY = ["assignment", "status", "updates", "notes", "development"]
CUSTOMER_ONLY = ["comments", "confirmation", "reopen"]


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
async def test_each_action_becomes_its_command_once_kafka_acknowledged_it(
    intake: Intake, action: Action
) -> None:
    intake.store(action.document)

    response = await intake.post(action.key, action.path, action.body)

    assert response.status_code == 202, response.text
    ((command, key),) = intake.bus.sent
    assert isinstance(command, action.command_type)
    assert key == command.ticket_id == ACME_TICKET
    assert {name: getattr(command, name) for name in action.fields} == action.fields
    caller = CALLERS[action.key]
    assert command.issued_by == Actor(role=caller.role, name=caller.name)
    assert command.issued_at.tzinfo is not None
    assert response.json()["command_id"] == command.command_id
    assert response.json()["url"] == f"/v1/tickets/{ACME_TICKET}"


async def test_a_retry_with_the_same_idempotency_key_is_the_very_same_command(
    intake: Intake,
) -> None:
    intake.store(ticket_document())
    body = {"message": "We are on it."}

    first = await intake.post(AGENT, "updates", body, idempotency_key="desk-1")
    again = await intake.post(AGENT, "updates", body, idempotency_key="desk-1")
    other = await intake.post(AGENT, "updates", body, idempotency_key="desk-2")
    unkeyed = [await intake.post(AGENT, "updates", body) for _ in range(2)]

    assert first.json()["command_id"] == again.json()["command_id"]
    ids = {r.json()["command_id"] for r in [first, other, *unkeyed]}
    assert len(ids) == 4


async def test_the_same_idempotency_key_on_another_ticket_is_another_command(
    intake: Intake,
) -> None:
    other_ticket = "TCK-ACME000000000002"
    intake.store(ticket_document(), ticket_document(ticket_id=other_ticket))
    body = {"text": "Checked the carrier."}

    one = await intake.post(AGENT, "notes", body, idempotency_key="desk-1")
    two = await intake.post(AGENT, "notes", body, idempotency_key="desk-1", ticket_id=other_ticket)

    assert one.json()["command_id"] != two.json()["command_id"]


async def test_without_kafka_an_action_is_refused_and_nothing_is_sent(intake: Intake) -> None:
    intake.store(ticket_document())
    intake.bus.failure = KafkaUnavailable("Kafka is unreachable")

    response = await intake.post(AGENT, "updates", {"message": "We are on it."})

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert intake.bus.sent == []


# --- who may do what ----------------------------------------------------------------------


@pytest.mark.parametrize("path", CUSTOMER_ONLY)
async def test_a_customer_cannot_act_on_another_customers_ticket_it_is_not_found(
    intake: Intake, path: str
) -> None:
    action = next(a for a in ACTIONS.values() if a.path == path)
    intake.store(action.document)

    response = await intake.post(GLOBEX, path, action.body)

    assert response.status_code == 404
    assert ACME_TICKET in response.json()["detail"]
    assert intake.bus.sent == []


@pytest.mark.parametrize("path", ["", "/timeline"], ids=["ticket", "timeline"])
async def test_a_customer_cannot_read_another_customers_ticket_it_is_not_found(
    intake: Intake, path: str
) -> None:
    intake.store(ticket_document())

    response = await intake.get(GLOBEX, f"/v1/tickets/{ACME_TICKET}{path}")

    assert response.status_code == 404


@pytest.mark.parametrize("path", AGENT_ONLY)
async def test_a_customer_may_not_take_an_agents_step_even_on_their_own_ticket(
    intake: Intake, path: str
) -> None:
    action = next(a for a in ACTIONS.values() if a.path == path)
    intake.store(action.document)

    response = await intake.post(ACME, path, action.body)

    assert response.status_code == 403
    assert "agent" in response.json()["detail"]
    assert intake.bus.sent == []


@pytest.mark.parametrize("path", CUSTOMER_ONLY)
async def test_only_the_customer_answers_for_themselves(intake: Intake, path: str) -> None:
    action = next(a for a in ACTIONS.values() if a.path == path)
    intake.store(action.document)

    response = await intake.post(AGENT, path, action.body)

    assert response.status_code == 403
    assert "customer" in response.json()["detail"]


@pytest.mark.parametrize("path", ["updates", "status", "notes"])
async def test_a_source_system_does_not_work_tickets(intake: Intake, path: str) -> None:
    action = next(a for a in ACTIONS.values() if a.path == path)
    intake.store(action.document)

    response = await intake.post(CRM, path, action.body)

    assert response.status_code == 403


async def test_an_action_on_a_ticket_that_is_not_there_is_not_found(intake: Intake) -> None:
    response = await intake.post(AGENT, "notes", {"text": "hello"})

    assert response.status_code == 404
    assert intake.bus.sent == []


# --- the lifecycle decides what is allowed; a refusal says what is -----------------------


@pytest.mark.parametrize(
    ("current", "target", "status_code"),
    [
        (TicketStatus.TRIAGED, TicketStatus.INVESTIGATING, 202),
        (TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.INVESTIGATING, 202),
        (TicketStatus.TESTING, TicketStatus.FIX_IN_PROGRESS, 202),
        (TicketStatus.INVESTIGATING, TicketStatus.AWAITING_CONFIRMATION, 202),
        (TicketStatus.RESOLVED, TicketStatus.CLOSED, 202),
        (TicketStatus.TRIAGED, TicketStatus.TESTING, 409),
        (TicketStatus.INVESTIGATING, TicketStatus.RESOLVED, 409),
        (TicketStatus.INVESTIGATING, TicketStatus.DEVELOPMENT, 409),
        (TicketStatus.CLOSED, TicketStatus.INVESTIGATING, 409),
    ],
)
async def test_an_agent_sets_only_a_status_the_lifecycle_allows(
    intake: Intake, current: TicketStatus, target: TicketStatus, status_code: int
) -> None:
    intake.store(ticket_document(status=current))

    response = await intake.post(AGENT, "status", {"status": target.value})

    assert response.status_code == status_code
    assert len(intake.bus.sent) == (1 if status_code == 202 else 0)


async def test_a_refused_status_change_names_the_steps_and_statuses_allowed(
    intake: Intake,
) -> None:
    intake.store(ticket_document(status=TicketStatus.TRIAGED))

    response = await intake.post(AGENT, "status", {"status": "testing"})

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://switchboard.example/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "cannot set the status to testing while triaged; allowed next: "
        "start_investigation, request_customer_input, open_development, request_confirmation",
        "ticket_status": "triaged",
        "allowed_steps": [
            "start_investigation",
            "request_customer_input",
            "open_development",
            "request_confirmation",
        ],
        "allowed_statuses": ["investigating", "waiting_on_customer", "awaiting_confirmation"],
    }


@pytest.mark.parametrize(
    ("key", "path", "body", "current"),
    [
        (AGENT, "development", {"summary": "Fix it"}, TicketStatus.AWAITING_CONFIRMATION),
        (ACME, "confirmation", {}, TicketStatus.INVESTIGATING),
        (ACME, "reopen", {}, TicketStatus.TRIAGED),
        (AGENT, "updates", {"message": "Still on it"}, TicketStatus.CLOSED),
        (AGENT, "assignment", {"team": "numbering"}, TicketStatus.CLOSED),
        (ACME, "comments", {"message": "Hello?"}, TicketStatus.CLOSED),
    ],
    ids=[
        "development-after-the-fix",
        "confirm-while-investigating",
        "reopen-before-any-resolution",
        "update-a-closed-ticket",
        "assign-a-closed-ticket",
        "comment-on-a-closed-ticket",
    ],
)
async def test_a_step_the_status_does_not_allow_is_a_conflict_naming_what_is(
    intake: Intake, key: str, path: str, body: dict[str, Any], current: TicketStatus
) -> None:
    intake.store(ticket_document(status=current))

    response = await intake.post(key, path, body)

    assert response.status_code == 409
    assert response.json()["ticket_status"] == current.value
    assert "allowed_steps" in response.json()
    assert intake.bus.sent == []


@pytest.mark.parametrize(
    ("path", "body"),
    [("notes", {"text": "Customer called to say thanks."}), ("call-ids", {"call_ids": ["c-9"]})],
    ids=["internal-note", "call-ids"],
)
async def test_a_closed_ticket_still_takes_notes_and_call_ids(
    intake: Intake, path: str, body: dict[str, Any]
) -> None:
    intake.store(ticket_document(status=TicketStatus.CLOSED))

    response = await intake.post(AGENT, path, body)

    assert response.status_code == 202


@pytest.mark.parametrize(
    ("ticket", "reported", "status_code"),
    [
        ((TicketStatus.DEVELOPMENT, DevelopmentStatus.OPEN), "fix_in_progress", 202),
        ((TicketStatus.TESTING, DevelopmentStatus.TESTING), "deployed", 202),
        ((TicketStatus.TESTING, DevelopmentStatus.TESTING), "fix_in_progress", 202),
        ((TicketStatus.TESTING, DevelopmentStatus.TESTING), "testing", 202),
        ((TicketStatus.FIX_IN_PROGRESS, DevelopmentStatus.FIX_IN_PROGRESS), "deployed", 409),
        ((TicketStatus.DEVELOPMENT, DevelopmentStatus.OPEN), "testing", 409),
    ],
    ids=[
        "fix-started",
        "deployed-after-testing",
        "fix-failed-its-tests",
        "told-twice",
        "deployed-untested",
        "tested-before-the-fix",
    ],
)
async def test_development_progress_follows_the_lifecycle(
    intake: Intake,
    ticket: tuple[TicketStatus, DevelopmentStatus],
    reported: str,
    status_code: int,
) -> None:
    intake.store(in_development(*ticket))

    response = await intake.post(
        CRM, "development/progress", {"development_ticket_id": DEV_TICKET, "status": reported}
    )

    assert response.status_code == status_code, response.text


async def test_progress_of_a_development_ticket_the_ticket_does_not_have_is_a_conflict(
    intake: Intake,
) -> None:
    intake.store(ticket_document(status=TicketStatus.DEVELOPMENT))

    response = await intake.post(
        CRM,
        "development/progress",
        {"development_ticket_id": DEV_TICKET, "status": "fix_in_progress"},
    )

    assert response.status_code == 409
    assert DEV_TICKET in response.json()["detail"]
    assert intake.bus.sent == []


# --- a closed ticket stays closed: the problem coming back is a follow-up ----------------


async def test_reporting_a_closed_ticket_not_fixed_opens_a_follow_up(intake: Intake) -> None:
    intake.store(ticket_document(status=TicketStatus.CLOSED))

    response = await intake.post(
        ACME, "reopen", {"comment": "Choppy again since today."}, idempotency_key="p-1"
    )

    assert response.status_code == 202
    follow_up = response.json()["ticket_id"]
    assert follow_up != ACME_TICKET
    assert response.json()["follow_up_of"] == ACME_TICKET
    assert response.headers["Location"] == f"/v1/tickets/{follow_up}"
    ((command, key),) = intake.bus.sent
    assert isinstance(command, OpenTicket)
    assert key == command.ticket_id == follow_up
    assert command.follow_up_of == ACME_TICKET
    assert command.issued_by == Actor(role=Role.CUSTOMER, name="acme-portal")
    assert command.details == TicketDetails(
        customer_id="acme-telecom",
        category=Category.CALL_QUALITY,
        summary="Follow-up: Choppy audio on outbound calls to Madrid",
        description="Choppy again since today.",
        call_ids=["c-20261125-0001"],
        affected_users=3,
        reporting_system="crm",
    )


async def test_a_follow_up_without_a_comment_repeats_the_old_description(
    intake: Intake,
) -> None:
    intake.store(ticket_document(status=TicketStatus.CLOSED, summary="x" * 200))

    await intake.post(ACME, "reopen")

    (command,) = intake.sent()
    assert isinstance(command, OpenTicket)
    assert command.details.description == ticket_document()["description"]
    assert command.details.summary == ("Follow-up: " + "x" * 200)[:200]


async def test_a_retried_follow_up_opens_the_same_ticket_and_once_stored_nothing_new(
    intake: Intake,
) -> None:
    intake.store(ticket_document(status=TicketStatus.CLOSED))
    body = {"comment": "Choppy again."}

    first = await intake.post(ACME, "reopen", body, idempotency_key="p-1")
    (opening,) = intake.sent()
    assert isinstance(opening, OpenTicket)
    intake.store(
        ticket_document(opening.ticket_id, TicketStatus.TRIAGED, request_hash=opening.request_hash)
    )
    again = await intake.post(ACME, "reopen", body, idempotency_key="p-1")
    reused = await intake.post(ACME, "reopen", {"comment": "Other words."}, idempotency_key="p-1")

    assert again.status_code == 202
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert len(intake.bus.sent) == 1
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["detail"]


# --- the timeline: agents see everything, customers what was meant for them --------------


def story() -> list[Document]:
    agent = Actor(role=Role.AGENT, name="agent-desk")
    customer = Actor(role=Role.CUSTOMER, name="acme-portal")
    moved = {"from_status": TicketStatus.TRIAGED, "to_status": TicketStatus.INVESTIGATING}
    details = TicketDetails.model_validate(
        {k: v for k, v in ticket_document().items() if k in TicketDetails.model_fields}
    )
    return [
        stored_event(TicketOpened, Actor(role=Role.SYSTEM, name="crm"), details=details),
        stored_event(TicketTriaged, team=Team.LEVEL_2, priority=Priority.P2, tier="level_2"),
        stored_event(InvestigationStarted, agent, **moved),
        stored_event(InternalNoteAdded, agent, text="Carrier B again, I bet."),
        stored_event(PublicUpdatePosted, agent, message="We are testing another route."),
        stored_event(CustomerCommented, customer, message="Barcelona too."),
        stored_event(
            CustomerResponded,
            customer,
            from_status=TicketStatus.WAITING_ON_CUSTOMER,
            to_status=TicketStatus.INVESTIGATING,
        ),
        stored_event(SlaBreached, clock=SlaClock.RESOLUTION, due_at=NOW),
        stored_event(TicketEscalated, from_tier="level_2", to_tier="level_3"),
        stored_event(ProgressUpdateSent, next_update_by=NOW + timedelta(hours=4)),
    ]


async def test_an_agent_reads_the_whole_timeline_in_order(intake: Intake) -> None:
    events = story()
    intake.store(ticket_document(events=events))

    response = await intake.get(AGENT, f"/v1/tickets/{ACME_TICKET}/timeline")

    assert response.status_code == 200
    assert [e["event_id"] for e in response.json()] == [e["event_id"] for e in events]
    assert response.json()[3]["text"] == "Carrier B again, I bet."


async def test_a_customer_reads_only_what_was_meant_for_them(intake: Intake) -> None:
    intake.store(ticket_document(events=story()))

    response = await intake.get(ACME, f"/v1/tickets/{ACME_TICKET}/timeline")

    assert [e["type"] for e in response.json()] == [
        "TicketOpened",
        "InvestigationStarted",
        "PublicUpdatePosted",
        "CustomerCommented",
        "TicketEscalated",
        "ProgressUpdateSent",
    ]


async def test_an_event_this_intake_does_not_know_is_left_out_of_the_timeline(
    intake: Intake,
) -> None:
    unknown = {**stored_event(InternalNoteAdded, text="x"), "type": "FromTheFuture"}
    intake.store(ticket_document(events=[*story()[:2], unknown]))

    response = await intake.get(AGENT, f"/v1/tickets/{ACME_TICKET}/timeline")

    assert [e["type"] for e in response.json()] == ["TicketOpened", "TicketTriaged"]


def at_minute(event: Document, minute: float) -> Document:
    return {**event, "occurred_at": (NOW + timedelta(minutes=minute)).isoformat()}


def delivery(kind: str, minute: float, **fields: Any) -> Document:
    """A delivery entry as the workflow records it from the notification-events topic."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "notification_id": "NTF-0123456789ABCDEFGHJKMNPQRS",
        "customer_id": "acme-telecom",
        "channel": "email",
        "contact_id": "noc",
        "event_type": "PublicUpdatePosted",
        "attempt": 1,
        "occurred_at": (NOW + timedelta(minutes=minute)).isoformat(),
        "error": None,
        **fields,
    }


def with_deliveries(intake: Intake) -> None:
    opened, triaged, investigating, note, update = story()[:5]
    intake.store(
        ticket_document(
            events=[
                at_minute(opened, 0),
                at_minute(triaged, 0),
                at_minute(investigating, 10),
                at_minute(note, 20),
                at_minute(update, 30),
            ]
        )
    )
    intake.record_deliveries(
        ACME_TICKET,
        delivery("NotificationSent", 31, channel="webhook", error="HTTP 503"),
        delivery("NotificationSent", 30.5),
        delivery("NotificationDelivered", 30.5),
        delivery("NotificationSent", 1, event_type="TicketOpened", channel="sms"),
        delivery("NotificationFailed", 1, event_type="TicketOpened", channel="sms"),
        delivery("NotificationDelivered", 0, event_type="TicketOpened", channel="in_app"),
    )


async def test_an_agent_sees_every_delivery_attempt_merged_into_the_timeline_by_time(
    intake: Intake,
) -> None:
    with_deliveries(intake)

    response = await intake.get(AGENT, f"/v1/tickets/{ACME_TICKET}/timeline")

    assert response.status_code == 200
    assert [(item["type"], item.get("channel")) for item in response.json()] == [
        ("TicketOpened", None),
        ("TicketTriaged", None),
        ("NotificationDelivered", "in_app"),
        ("NotificationSent", "sms"),
        ("NotificationFailed", "sms"),
        ("InvestigationStarted", None),
        ("InternalNoteAdded", None),
        ("PublicUpdatePosted", None),
        ("NotificationSent", "email"),
        ("NotificationDelivered", "email"),
        ("NotificationSent", "webhook"),
    ]
    deliveries = [item for item in response.json() if item.get("kind") == "delivery"]
    assert len(deliveries) == 6
    assert deliveries[-1]["error"] == "HTTP 503"


async def test_a_customer_sees_the_notifications_that_reached_them(intake: Intake) -> None:
    with_deliveries(intake)

    response = await intake.get(ACME, f"/v1/tickets/{ACME_TICKET}/timeline")

    assert [(item["type"], item.get("channel")) for item in response.json()] == [
        ("TicketOpened", None),
        ("NotificationDelivered", "in_app"),
        ("InvestigationStarted", None),
        ("PublicUpdatePosted", None),
        ("NotificationDelivered", "email"),
    ]


# --- reading a ticket: agents see the internals, customers their ticket ------------------


async def test_an_agent_sees_teams_tier_and_the_clocks(intake: Intake) -> None:
    intake.store(
        in_development(TicketStatus.FIX_IN_PROGRESS, DevelopmentStatus.FIX_IN_PROGRESS)
        | {"teams": ["development", "level_2_support"], "reopen_count": 1}
    )

    ticket = (await intake.get(AGENT, f"/v1/tickets/{ACME_TICKET}")).json()

    assert ticket["status"] == "fix_in_progress"
    assert ticket["teams"] == ["development", "level_2_support"]
    assert ticket["tier"] == "level_2"
    assert ticket["reopen_count"] == 1
    assert ticket["development"] == {
        "development_ticket_id": DEV_TICKET,
        "summary": "Jitter buffer drops packets under load",
        "status": "fix_in_progress",
    }
    assert ticket["resolution_due"] == "2026-11-28T09:30:00Z"
    assert ticket["first_response_breached"] is False


async def test_a_customer_sees_their_ticket_without_the_internals(intake: Intake) -> None:
    intake.store(in_development(TicketStatus.FIX_IN_PROGRESS, DevelopmentStatus.FIX_IN_PROGRESS))

    ticket = (await intake.get(ACME, f"/v1/tickets/{ACME_TICKET}")).json()

    assert set(ticket) == {
        "ticket_id",
        "status",
        "customer_id",
        "category",
        "summary",
        "description",
        "call_ids",
        "affected_users",
        "reporting_system",
        "team",
        "priority",
        "reopen_count",
        "development",
        "follow_up_of",
        "alternative_proposed",
        "affected",
        "incident_id",
        "next_update_due",
        "resolution_due",
        "created_at",
        "updated_at",
    }
    assert ticket["development"] == {
        "summary": "Jitter buffer drops packets under load",
        "status": "fix_in_progress",
    }


def previous_version_document() -> Document:
    """What the walking skeleton stored: the report, team, priority, status, no lifecycle."""
    keep = {
        "_id",
        "status",
        "customer_id",
        "category",
        "summary",
        "description",
        "call_ids",
        "affected_users",
        "reporting_system",
        "team",
        "priority",
        "request_hash",
        "created_at",
        "updated_at",
        "events",
        "outbox_pending",
    }
    document = ticket_document(status=TicketStatus.TRIAGED)
    return {k: v for k, v in document.items() if k in keep}


@pytest.mark.parametrize("key", [AGENT, ACME])
async def test_a_ticket_stored_by_the_previous_version_reads_with_defaults(
    intake: Intake, key: str
) -> None:
    intake.store(previous_version_document())

    response = await intake.get(key, f"/v1/tickets/{ACME_TICKET}")

    assert response.status_code == 200
    assert response.json()["reopen_count"] == 0
    assert response.json()["development"] is None
    assert response.json().get("teams", ["level_2_support"]) == ["level_2_support"]


# --- finding tickets ----------------------------------------------------------------------


def queue() -> list[Document]:
    hours = timedelta(hours=1)
    return [
        ticket_document("TCK-Q000000000000001", created_at=NOW - 5 * hours),
        ticket_document(
            "TCK-Q000000000000002",
            TicketStatus.WAITING_ON_CUSTOMER,
            created_at=NOW - 4 * hours,
            teams=["development", "telecom_engineering"],
            team="telecom_engineering",
            next_timer_at=None,
        ),
        ticket_document(
            "TCK-Q000000000000003",
            TicketStatus.TRIAGED,
            "globex",
            priority="p1",
            created_at=NOW - 3 * hours,
            clocks={"first_response_breached": True},
            next_timer_at=NOW - hours,
        ),
        ticket_document(
            "TCK-Q000000000000004",
            TicketStatus.CLOSED,
            created_at=NOW - 2 * hours,
            call_ids=["c-7", "c-8"],
            next_timer_at=None,
        ),
        ticket_document(
            "TCK-Q000000000000005",
            clocks={"resolution_breached": True},
            created_at=NOW - hours,
            next_timer_at=NOW + 2 * hours,
        ),
    ]


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"status": "investigating"}, [5, 1]),
        ({"status": ["triaged", "waiting_on_customer"]}, [3, 2]),
        ({"team": "development"}, [2]),
        ({"team": "level_2_support", "priority": "p2"}, [5, 4, 1]),
        ({"priority": "p1"}, [3]),
        ({"breached": "true"}, [5, 3]),
        ({"breached": "false"}, [4, 2, 1]),
        ({"due_before": "2026-11-25T10:30:00+00:00"}, [3, 1]),
        ({"call_id": "c-8"}, [4]),
        ({"customer_id": "globex"}, [3]),
        ({"breached": "true", "customer_id": "acme-telecom"}, [5]),
        ({"limit": 2}, [5, 4]),
    ],
    ids=[
        "all-newest-first",
        "one-status",
        "any-of-two-statuses",
        "involving-a-team",
        "team-and-priority",
        "priority",
        "breached",
        "on-track",
        "a-clock-due-soon",
        "call-id",
        "customer",
        "breached-for-a-customer",
        "limit",
    ],
)
async def test_an_agent_filters_the_queue(
    intake: Intake, params: dict[str, Any], found: list[int]
) -> None:
    intake.store(*queue())

    response = await intake.get(AGENT, "/v1/tickets", **params)

    assert response.status_code == 200, response.text
    assert [t["ticket_id"] for t in response.json()] == [f"TCK-Q00000000000000{n}" for n in found]


async def test_filters_reach_the_database_as_plain_values(intake: Intake) -> None:
    await intake.get(
        AGENT,
        "/v1/tickets",
        status=["triaged", "testing"],
        team="numbering",
        breached="true",
        due_before="2026-11-25T10:30:00Z",
    )

    assert intake.tickets.queries == [
        {
            "status": {"$in": ["triaged", "testing"]},
            "teams": "numbering",
            "$or": [
                {"clocks.first_response_breached": True},
                {"clocks.resolution_breached": True},
            ],
            "next_timer_at": {"$lte": datetime(2026, 11, 25, 10, 30, tzinfo=UTC)},
        }
    ]


@pytest.mark.parametrize(
    ("key", "params", "found"),
    [
        (ACME, {}, [5, 4, 2, 1]),
        (ACME, {"status": "closed"}, [4]),
        (ACME, {"customer_id": "globex"}, []),
        (GLOBEX, {"call_id": "c-8"}, []),
        (CRM, {"call_id": "c-8"}, [4]),
    ],
    ids=[
        "customer-sees-their-own",
        "customer-filters-their-own",
        "customer-asks-for-another",
        "customer-searches-another-customers-call",
        "system-finds-by-call-id",
    ],
)
async def test_customers_find_only_their_own_tickets(
    intake: Intake, key: str, params: dict[str, Any], found: list[int]
) -> None:
    intake.store(*queue())

    response = await intake.get(key, "/v1/tickets", **params)

    assert [t["ticket_id"] for t in response.json()] == [f"TCK-Q00000000000000{n}" for n in found]


async def test_a_customer_list_shows_the_customer_view(intake: Intake) -> None:
    intake.store(*queue())

    (first, *_) = (await intake.get(ACME, "/v1/tickets")).json()

    assert "tier" not in first
    assert "first_response_breached" not in first


async def test_a_source_system_lists_tickets_only_by_call_id(intake: Intake) -> None:
    response = await intake.get(CRM, "/v1/tickets", status="triaged")

    assert response.status_code == 403
    assert "call_id" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "$ne"}, ("query", "status", 0)),
        ({"team": "everyone"}, ("query", "team")),
        ({"breached": "maybe"}, ("query", "breached")),
        ({"due_before": "2026-11-25T10:30:00"}, ("query", "due_before")),
        ({"customer_id": "$where"}, ("query", "customer_id")),
        ({"customer_id[$ne]": "x"}, ("query", "customer_id[$ne]")),
        ({"stauts": "closed"}, ("query", "stauts")),
        ({"limit": 201}, ("query", "limit")),
    ],
    ids=[
        "operator-as-status",
        "unknown-team",
        "not-a-boolean",
        "time-without-zone",
        "operator-as-customer",
        "operator-in-the-name",
        "misspelt-filter",
        "limit-too-high",
    ],
)
async def test_a_bad_filter_is_refused_naming_it(
    intake: Intake, params: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    response = await intake.get(AGENT, "/v1/tickets", **params)

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [field]
    assert intake.tickets.queries == []


# --- bad bodies are refused naming the field ----------------------------------------------


@pytest.mark.parametrize(
    ("key", "path", "body", "field"),
    [
        (AGENT, "status", {"status": "fixed"}, ("body", "status")),
        (AGENT, "status", {"status": "investigating", "priority": "p1"}, ("body", "priority")),
        (AGENT, "assignment", {"reason": "nobody"}, ("body",)),
        (AGENT, "assignment", {"team": "sales"}, ("body", "team")),
        (AGENT, "updates", {"message": ""}, ("body", "message")),
        (AGENT, "notes", {}, ("body", "text")),
        (AGENT, "call-ids", {"call_ids": []}, ("body", "call_ids")),
        (AGENT, "call-ids", {"call_ids": ["c-1", "$ne"]}, ("body", "call_ids", 1)),
        (
            CRM,
            "development/progress",
            {"development_ticket_id": "DEV-1", "status": "testing"},
            ("body", "development_ticket_id"),
        ),
        (
            CRM,
            "development/progress",
            {"development_ticket_id": DEV_TICKET, "status": "open"},
            ("body", "status"),
        ),
        (ACME, "comments", {"message": "x" * 5001}, ("body", "message")),
        (ACME, "reopen", {"comment": "x", "severity": "high"}, ("body", "severity")),
    ],
    ids=[
        "unknown-status",
        "unexpected-field",
        "assignment-naming-no-team",
        "unknown-team",
        "empty-update",
        "note-without-text",
        "no-call-ids",
        "operator-as-call-id",
        "malformed-development-ticket",
        "development-cannot-go-back-to-open",
        "comment-too-long",
        "unexpected-field-on-reopen",
    ],
)
async def test_a_bad_action_is_refused_naming_the_field(
    intake: Intake, key: str, path: str, body: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    intake.store(in_development(TicketStatus.FIX_IN_PROGRESS, DevelopmentStatus.FIX_IN_PROGRESS))

    response = await intake.post(key, path, body)

    assert response.status_code == 422
    assert [tuple(e["loc"]) for e in response.json()["errors"]] == [field]
    assert intake.bus.sent == []


def test_the_fake_collection_refuses_operators_the_code_does_not_use() -> None:
    with pytest.raises(KeyError):
        matches(ticket_document(), {"summary": {"$regex": "Madrid"}})
