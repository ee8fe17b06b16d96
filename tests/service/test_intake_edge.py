"""Hostile input at intake's edge: oversized and unparsable bodies, lone surrogates, loose
types, methods a path does not serve, callers over their rate; every error a problem details."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER
from services.intake.problems import EXCERPT_CHARS, MEDIA_TYPE, TYPE_BASE
from services.intake.settings import IntakeSettings
from tests.service.test_intake_api import (
    REPORT,
    SETTINGS,
    FakeApiKeys,
    FakeBus,
    FakeReads,
    Intake,
)

CRM = {API_KEY_HEADER: "key-crm"}
AGENT = {API_KEY_HEADER: "key-agent"}
JSON = {"content-type": "application/json"}
LIMIT = 4096


async def started(settings: IntakeSettings) -> AsyncIterator[Intake]:
    app = create_app(settings)
    bus, reads = FakeBus(), FakeReads()
    app.state.bus, app.state.reads, app.state.api_keys = bus, reads, FakeApiKeys()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Intake(app, http, bus, reads)


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    async for running in started(SETTINGS.model_copy(update={"max_body_bytes": LIMIT})):
        yield running


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + kind
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def fields(response: httpx.Response) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in response.json()["errors"]]


# --- body size ----------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_on_its_declared_length(intake: Intake) -> None:
    body = json.dumps({**REPORT, "description": "x" * LIMIT})

    response = await intake.http.post("/v1/tickets", content=body, headers={**CRM, **JSON})

    problem = assert_problem(response, 413, "body-too-large")
    assert str(LIMIT) in problem["detail"]
    assert intake.bus.sent == []


async def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit(intake: Intake) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):  # 100 KiB offered, without a Content-Length
            sent.append(1024)
            yield b" " * 1024

    response = await intake.http.post("/v1/tickets", content=chunks(), headers={**CRM, **JSON})

    assert_problem(response, 413, "body-too-large")
    assert sum(sent) <= LIMIT + 2 * 1024  # read no further than the limit
    assert intake.bus.sent == []


async def test_a_body_within_the_limit_is_accepted(intake: Intake) -> None:
    response = await intake.open_ticket(description="x" * (LIMIT // 2))

    assert response.status_code == 202


# --- bodies that are not JSON, or not text ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"summary": ', b'{"summary": "\xff"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "not-utf-8", "nested-too-deep"],
)
async def test_a_body_that_is_not_json_is_a_bad_request(body: bytes) -> None:
    big = SETTINGS.model_copy(update={"max_body_bytes": 1_000_000})
    async for roomy in started(big):
        response = await roomy.http.post("/v1/tickets", content=body, headers={**CRM, **JSON})

        problem = assert_problem(response, 400, "malformed-body")
        assert "not JSON" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "\ud800"}, ("body", "summary")),
        ({"call_ids": ["c-1", "c-\udfff"]}, ("body", "call_ids", 1)),
        ({"affected": {"region": "eu\ud83d"}}, ("body", "affected", "region")),
        ({"\ud800": 1}, ("body", "\\ud800")),
    ],
    ids=["summary", "list-item", "nested", "object-key"],
)
async def test_a_lone_surrogate_is_refused_naming_the_field(
    intake: Intake, change: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    body = json.dumps({**REPORT, **change})  # ensure_ascii: the surrogate travels as \ud800

    response = await intake.http.post("/v1/tickets", content=body, headers={**CRM, **JSON})

    assert_problem(response, 422, "invalid-request")
    assert fields(response) == [field]
    assert intake.bus.sent == []


async def test_a_pair_of_surrogates_is_the_character_it_encodes(intake: Intake) -> None:
    body = json.dumps({**REPORT, "summary": "Audio drops 😞"})

    response = await intake.http.post("/v1/tickets", content=body, headers={**CRM, **JSON})

    assert response.status_code == 202


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tickets/TCK-0123456789ABCDEF/updates",
        "/v1/incidents",
        "/v1/customers/acme-telecom/contacts/noc/preferences",
    ],
)
async def test_every_write_refuses_a_lone_surrogate_rather_than_failing(
    intake: Intake, path: str
) -> None:
    body = '{"message": "\\ud800", "title": "\\udc00", "language": "\\udbff"}'

    response = await intake.http.request(
        "PATCH" if path.endswith("preferences") else "POST",
        path,
        content=body,
        headers={**AGENT, **JSON},
    )

    assert_problem(response, 422, "invalid-request")
    assert fields(response)[0][0] == "body"


# --- what a 422 repeats ----------------------------------------------------------------------


async def test_a_refusal_repeats_only_a_short_excerpt_of_the_input() -> None:
    roomy = SETTINGS.model_copy(update={"max_body_bytes": 1_000_000})
    async for big in started(roomy):
        response = await big.open_ticket(summary="y" * 500_000)

        problem = assert_problem(response, 422, "invalid-request")
        (error,) = problem["errors"]
        assert error["loc"] == ["body", "summary"]
        assert error["input"] == "y" * EXCERPT_CHARS + "..."
        assert len(response.content) < 2_000


async def test_a_refusal_names_at_most_fifty_fields(intake: Intake) -> None:
    response = await intake.open_ticket(call_ids=[f"bad id {n}" for n in range(100)])

    problem = assert_problem(response, 422, "invalid-request")
    assert len(problem["errors"]) == 50
    assert "and 95 more" in problem["detail"]


# --- strict types ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, "3", 3.5], ids=["boolean", "string", "fraction"])
async def test_affected_users_is_a_json_integer(intake: Intake, value: object) -> None:
    response = await intake.open_ticket(affected_users=value)

    assert_problem(response, 422, "invalid-request")
    assert fields(response) == [("body", "affected_users")]


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
async def test_in_app_is_a_json_boolean(intake: Intake, value: object) -> None:
    body = {"name": "ACME", "contacts": [{"contact_id": "ops", "name": "NOC", "in_app": value}]}

    response = await intake.http.put("/v1/customers/acme-telecom", json=body, headers=AGENT)

    assert_problem(response, 422, "invalid-request")
    assert fields(response) == [("body", "contacts", 0, "in_app")]


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-11-25", "2026-11-25T09:00:00"])
async def test_due_before_is_an_rfc_3339_time_with_its_offset(intake: Intake, value: str) -> None:
    response = await intake.http.get("/v1/tickets", params={"due_before": value}, headers=AGENT)

    assert_problem(response, 422, "invalid-request")
    assert fields(response) == [("query", "due_before")]


async def test_due_before_takes_a_time_with_its_offset(intake: Intake) -> None:
    params = {"due_before": "2026-11-25T09:00:00+01:00"}

    response = await intake.http.get("/v1/tickets", params=params, headers=AGENT)

    assert response.status_code == 200


# --- one error shape ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "kind"),
    [
        ("GET", "/v1/tickets", {}, 401, "unauthenticated"),
        ("POST", "/v1/incidents/INC-0123456789ABCDEF/resolve", CRM, 403, "forbidden"),
        ("GET", "/v1/tickets/TCK-0123456789ABCDEF", AGENT, 404, "not-found"),
        ("GET", "/v1/nowhere", AGENT, 404, "not-found"),
        ("DELETE", "/v1/tickets", AGENT, 405, "method-not-allowed"),
        ("GET", "/v1/tickets?limit=0", AGENT, 422, "invalid-request"),
    ],
)
async def test_every_error_is_a_problem_details_body(
    intake: Intake, method: str, path: str, headers: dict[str, str], status: int, kind: str
) -> None:
    response = await intake.http.request(method, path, headers=headers)

    assert_problem(response, status, kind)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/tickets", "GET, POST, OPTIONS"),
        ("/v1/customers/acme-telecom", "GET, PUT, OPTIONS"),
        ("/v1/tickets/TCK-0123456789ABCDEF/status", "POST, OPTIONS"),
    ],
)
async def test_options_names_every_method_the_path_serves(
    intake: Intake, path: str, allowed: str
) -> None:
    response = await intake.http.options(path)

    assert response.status_code == 204
    assert response.headers["Allow"] == allowed


async def test_a_method_the_path_does_not_serve_names_those_it_does(intake: Intake) -> None:
    response = await intake.http.delete("/v1/customers/acme-telecom", headers=AGENT)

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "GET, PUT, OPTIONS"


# --- rate limits -------------------------------------------------------------------------


async def test_a_key_over_its_rate_is_told_when_to_retry_and_others_go_on() -> None:
    limited = SETTINGS.model_copy(update={"rate_limit_per_s": 0.5, "rate_limit_burst": 2})
    async for intake in started(limited):
        answers = [(await intake.open_ticket()).status_code for _ in range(3)]
        refused = await intake.open_ticket()
        another = await intake.open_ticket(key="key-billing")

        assert answers == [202, 202, 429]
        problem = assert_problem(refused, 429, "rate-limited")
        assert refused.headers["Retry-After"] == "2"
        assert "retry in 2 s" in problem["detail"]
        assert another.status_code == 202
        assert len(intake.bus.sent) == 3


# --- query parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limt=5", ("query", "limt")),
        ("call_id=c-1&call_id=c-2", ("query", "call_id")),
        ("priority=p1&limit=5&limit=9", ("query", "limit")),
    ],
    ids=["misspelt", "repeated", "repeated-beside-a-good-one"],
)
async def test_a_query_parameter_the_route_does_not_take_once_is_refused(
    intake: Intake, query: str, field: tuple[str, ...]
) -> None:
    response = await intake.http.get(f"/v1/tickets?{query}", headers=AGENT)

    assert_problem(response, 422, "invalid-request")
    assert fields(response) == [field]


async def test_a_list_parameter_may_repeat(intake: Intake) -> None:
    response = await intake.http.get(
        "/v1/tickets?status=triaged&status=investigating", headers=AGENT
    )

    assert response.status_code == 200
