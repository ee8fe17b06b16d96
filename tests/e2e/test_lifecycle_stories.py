"""Stories of the support lifecycle on the real stack, told from the customer's and agent's side."""

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from infra.processes import free_port
from infra.services import Platform, SwitchboardService
from shared.mongo import Collections, Database, Document
from shared.topics import DEAD_LETTER, DEVELOPMENT_EVENTS, TICKET_COMMANDS
from tests.e2e.desk import Desk
from tests.e2e.support import Endpoints, Keys, WebhookSink, records_with_key, until

pytestmark = pytest.mark.e2e

SECRET = "whsec_lifecycle_0123456789"


async def new_customer(intake: httpx.AsyncClient, keys: Keys, webhook: str | None = None) -> str:
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    contact: dict[str, Any] = {"contact_id": "ops", "name": "NOC", "language": "en"}
    if webhook:
        contact["webhook"] = {"url": webhook, "secret": SECRET}
    body = {"name": "Iberia Calls S.L.", "contacts": [contact]}
    response = await intake.put(
        f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": keys.agent}
    )
    assert response.status_code == 200, response.text
    return customer_id


async def test_call_quality_ticket_goes_to_level_two(
    intake: httpx.AsyncClient, keys: Keys, desk_for: Callable[[str], Awaitable[Desk]]
) -> None:
    customer_id = await new_customer(intake, keys)
    desk = await desk_for(customer_id)

    ticket_id = await desk.report(customer_id, "call_quality")

    ticket = await desk.ticket_reaches(ticket_id, "triaged")
    assert ticket["team"] == "level_2_support"
    assert ticket["tier"] == "level_2"


async def test_complex_problem_is_fixed_by_development_deployed_and_confirmed(
    intake: httpx.AsyncClient,
    keys: Keys,
    endpoints: Endpoints,
    webhook_sink: WebhookSink,
    desk_for: Callable[[str], Awaitable[Desk]],
) -> None:
    customer_id = await new_customer(intake, keys, webhook_sink.url)
    desk = await desk_for(customer_id)
    ticket_id = await desk.report(customer_id, "complex_technical", summary="SIP trunk drops")
    assert (await desk.ticket_reaches(ticket_id, "triaged"))["team"] == "telecom_engineering"

    assert (await desk.agent(ticket_id, "status", {"status": "investigating"})).status_code == 202
    await desk.ticket_reaches(ticket_id, "investigating")
    note = "Customer's PBX firmware is ancient; do not mention to them"
    assert (await desk.agent(ticket_id, "notes", {"text": note})).status_code == 202
    assert (
        await desk.agent(ticket_id, "development", {"summary": "Fix re-INVITE"})
    ).status_code == 202
    development_id = (await desk.ticket_reaches(ticket_id, "development"))["development"][
        "development_ticket_id"
    ]
    for stage, status in [
        ("fix_in_progress", "fix_in_progress"),
        ("testing", "testing"),
        ("deployed", "awaiting_confirmation"),
    ]:
        progress = {"development_ticket_id": development_id, "status": stage}
        assert (await desk.system(ticket_id, "development/progress", progress)).status_code == 202
        await desk.ticket_reaches(ticket_id, status)
    assert (await desk.customer(ticket_id, "confirmation", {})).status_code == 202
    ticket = await desk.ticket_reaches(ticket_id, "resolved")

    assert set(ticket["teams"]) >= {"telecom_engineering", "development"}
    told = await until(
        lambda: _webhook_types(webhook_sink, ticket_id, expected=7), "customer told at each step"
    )
    assert told == [
        "TicketOpened",
        "InvestigationStarted",
        "DevelopmentTicketOpened",
        "FixStarted",
        "FixTestingStarted",
        "ConfirmationRequested",
        "ResolutionConfirmed",
    ]
    assert all(note not in r.body.decode() for r in webhook_sink.for_ticket(ticket_id))
    tracker = await records_with_key(endpoints.kafka_bootstrap, DEVELOPMENT_EVENTS, ticket_id)
    assert [json.loads(r.value)["type"] for r in tracker] == [
        "DevelopmentTicketOpened",
        "FixStarted",
        "FixTestingStarted",
        "FixDeployed",
    ]
    customer_view = await desk.intake.get(
        f"/v1/tickets/{ticket_id}/timeline", headers={"X-API-Key": desk.customer_key}
    )
    agent_view = await desk.intake.get(
        f"/v1/tickets/{ticket_id}/timeline", headers={"X-API-Key": keys.agent}
    )
    assert "InternalNoteAdded" not in _timeline_types(customer_view)
    assert "InternalNoteAdded" in _timeline_types(agent_view)
    assert note not in customer_view.text


async def test_porting_problem_reopened_twice_gets_the_porting_alternative(
    intake: httpx.AsyncClient, keys: Keys, desk_for: Callable[[str], Awaitable[Desk]]
) -> None:
    customer_id = await new_customer(intake, keys)
    desk = await desk_for(customer_id)
    ticket_id = await desk.report(customer_id, "number_porting", summary="Port-in stuck")
    assert (await desk.agent(ticket_id, "status", {"status": "investigating"})).status_code == 202
    await desk.ticket_reaches(ticket_id, "investigating")

    for _ in range(2):
        proposed = {"status": "awaiting_confirmation", "reason": "port re-submitted"}
        assert (await desk.agent(ticket_id, "status", proposed)).status_code == 202
        await desk.ticket_reaches(ticket_id, "awaiting_confirmation")
        reopen = {"comment": "Calls still fail"}
        assert (await desk.customer(ticket_id, "reopen", reopen)).status_code == 202
        await desk.ticket_reaches(ticket_id, "investigating")

    ticket = await desk.ticket_reaches(ticket_id, "investigating")
    assert ticket["reopen_count"] == 2
    assert ticket["alternative_proposed"] is True
    proposals = [e for e in ticket["events"] if e["type"] == "AlternativeProposed"]
    assert [p["alternative"] for p in proposals] == [
        "port the number to an alternative carrier route"
    ]

    async def told_about_it() -> list[Document] | None:
        response = await desk.intake.get(
            f"/v1/customers/{customer_id}/notifications", headers={"X-API-Key": desk.customer_key}
        )
        found = [n for n in response.json() if n["event_type"] == "AlternativeProposed"]
        return found or None

    [notification] = await until(told_about_it, "customer told about the alternative")
    assert "port the number" in notification["body"]


async def test_illegal_steps_are_refused_with_the_allowed_ones(
    intake: httpx.AsyncClient,
    keys: Keys,
    endpoints: Endpoints,
    desk_for: Callable[[str], Awaitable[Desk]],
) -> None:
    customer_id = await new_customer(intake, keys)
    desk = await desk_for(customer_id)
    ticket_id = await desk.report(customer_id, "user_provisioning")

    refused = await desk.agent(ticket_id, "status", {"status": "testing"})

    assert refused.status_code == 409
    assert "start_investigation" in refused.json()["allowed_steps"]
    command = {
        "type": "ChangeStatus",
        "command_id": str(uuid.uuid4()),
        "issued_at": "2026-01-01T00:00:00Z",
        "issued_by": {"role": "agent", "name": "rogue-script"},
        "ticket_id": ticket_id,
        "status": "testing",
    }
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            TICKET_COMMANDS.name, json.dumps(command).encode(), key=ticket_id.encode()
        )
    finally:
        await producer.stop()

    async def dead_lettered() -> list[Any] | None:
        found = await records_with_key(endpoints.kafka_bootstrap, DEAD_LETTER, ticket_id)
        return found or None

    [dead] = await until(dead_lettered, "illegal command dead-lettered")
    error = dict(dead.headers)["x-dead-letter-error"].decode()
    assert "allowed next: start_investigation" in error
    assert (await desk.ticket_reaches(ticket_id, "triaged"))["version"] == 1


async def test_a_customer_never_sees_or_touches_another_customers_ticket(
    intake: httpx.AsyncClient, keys: Keys, desk_for: Callable[[str], Awaitable[Desk]]
) -> None:
    alice, bob = await new_customer(intake, keys), await new_customer(intake, keys)
    alice_desk, bob_desk = await desk_for(alice), await desk_for(bob)
    ticket_id = await alice_desk.report(alice, "call_quality", call_ids=["call-shared-0001"])
    as_bob = {"X-API-Key": bob_desk.customer_key}

    reads = [
        await intake.get(f"/v1/tickets/{ticket_id}", headers=as_bob),
        await intake.get(f"/v1/tickets/{ticket_id}/timeline", headers=as_bob),
        await intake.get(f"/v1/customers/{alice}/notifications", headers=as_bob),
    ]
    writes = [
        await bob_desk.customer(ticket_id, "confirmation", {}),
        await bob_desk.customer(ticket_id, "reopen", {"comment": "mine now"}),
        await bob_desk.customer(ticket_id, "comments", {"message": "hello"}),
    ]
    by_call = await intake.get(
        "/v1/tickets", params={"call_id": "call-shared-0001"}, headers=as_bob
    )

    assert [r.status_code for r in reads + writes] == [404] * 6
    assert by_call.status_code == 200
    assert by_call.json() == []
    own = await intake.get(
        f"/v1/tickets/{ticket_id}", headers={"X-API-Key": alice_desk.customer_key}
    )
    assert own.status_code == 200


async def test_a_ticket_left_alone_gets_updates_then_escalates_once_across_restarts(
    intake: httpx.AsyncClient,
    keys: Keys,
    platform: Platform,
    database: Database,
    desk_for: Callable[[str], Awaitable[Desk]],
) -> None:
    """Rules for "other" problems: keep-in-loop every 3 s, first response within 8 s."""
    customer_id = await new_customer(intake, keys)
    desk = await desk_for(customer_id)
    ticket_id = await desk.report(customer_id, "other", summary="Voicemail greeting wrong")

    await until(
        lambda: _has(desk, ticket_id, "ProgressUpdateSent"), "keep-in-loop update", within_s=10
    )
    workflow = platform.services["workflow"]
    workflow.kill()  # a crash, mid-clock
    port = free_port()
    env = {**workflow.env, "SWITCHBOARD_WORKFLOW_PORT": str(port)}
    second = SwitchboardService("workflow", port, env, workflow.log_dir / "second")
    workflow.start()
    second.start()  # two instances now share the work and the scheduling
    try:
        workflow.wait_ready()
        second.wait_ready()
        await until(lambda: _has(desk, ticket_id, "SlaBreached"), "first response breached")
        await until(lambda: _has(desk, ticket_id, "ProgressUpdateSent", times=3), "more updates")
    finally:
        second.stop()

    types = await desk.event_types(ticket_id)
    assert types.count("SlaBreached") == 1
    assert types.count("TicketEscalated") == 1
    ticket = await database[Collections.TICKETS].find_one({"_id": ticket_id})
    assert ticket is not None
    assert ticket["tier"] == "level_2"
    assert ticket["clocks"]["first_response_breached"] is True
    assert types.index("ProgressUpdateSent") < types.index("SlaBreached")


async def _has(desk: Desk, ticket_id: str, event_type: str, times: int = 1) -> bool:
    return (await desk.event_types(ticket_id)).count(event_type) >= times


async def _webhook_types(sink: WebhookSink, ticket_id: str, expected: int) -> list[str] | None:
    """What the customer was told, in the order it happened (deliveries run in parallel)."""
    received = sorted(
        (r.json() for r in sink.for_ticket(ticket_id)), key=lambda n: n["occurred_at"]
    )
    types = [notification["type"] for notification in received]
    return types if len(types) >= expected else None


def _timeline_types(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    events = body["events"] if isinstance(body, dict) else body
    return [event["type"] for event in events]
