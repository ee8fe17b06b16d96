"""A ticket's story on the real stack: HTTP, Kafka, workflow, MongoDB, notifier, webhook."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook

from infra.services import Platform
from services.notifier.domain.signature import SIGNATURE_HEADER, verify
from shared.mongo import Collections, Database, Document
from shared.topics import DEAD_LETTER, TICKET_EVENTS, DeadLetterHeader
from shared.vocabulary import ticket_id_for_request
from tests.e2e.support import Endpoints, Keys, WebhookSink, records_with_key, until

pytestmark = pytest.mark.e2e

SECRET = "whsec_0123456789abcdef"


def ticket_body(customer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "category": "call_quality",
        "summary": "Choppy audio on outbound calls",
        "description": "Calls to Madrid break up every few seconds since 09:00.",
        "call_ids": [f"call-{uuid.uuid4().hex[:12]}"],
        "affected_users": 2,
        "reporting_system": "crm",
        **overrides,
    }


async def new_customer(intake: httpx.AsyncClient, keys: Keys, webhook_url: str | None) -> str:
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    contact: dict[str, Any] = {"contact_id": "ops", "name": "NOC", "language": "en"}
    if webhook_url:
        contact["webhook"] = {"url": webhook_url, "secret": SECRET}
    body = {"name": "Acme Telecom", "contacts": [contact]}
    response = await intake.put(
        f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": keys.agent}
    )
    assert response.status_code == 200, response.text
    assert "secret" not in response.json()["contacts"][0]["webhook"] if webhook_url else True
    return customer_id


async def open_ticket(
    intake: httpx.AsyncClient, keys: Keys, body: dict[str, Any], idempotency_key: str
) -> httpx.Response:
    return await intake.post(
        "/v1/tickets",
        json=body,
        headers={"X-API-Key": keys.system, "Idempotency-Key": idempotency_key},
    )


async def ticket_document(database: Database, ticket_id: str) -> Document | None:
    """The ticket once its events are all published (its outbox is empty)."""
    document = await database[Collections.TICKETS].find_one({"_id": ticket_id})
    return document if document and not document["outbox_pending"] else None


async def test_ticket_is_triaged_published_in_order_and_customer_notified_once(
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    endpoints: Endpoints,
    webhook_sink: WebhookSink,
) -> None:
    customer_id = await new_customer(intake, keys, webhook_sink.url)
    body = ticket_body(customer_id)

    response = await open_ticket(intake, keys, body, str(uuid.uuid4()))

    assert response.status_code == 202, response.text
    ticket_id = response.json()["ticket_id"]
    assert response.headers["Location"] == f"/v1/tickets/{ticket_id}"
    document = await until(lambda: ticket_document(database, ticket_id), "ticket stored")
    assert document["team"] == "level_2_support"
    assert document["status"] == "triaged"
    events = await records_with_key(endpoints.kafka_bootstrap, TICKET_EVENTS, ticket_id)
    assert [json.loads(e.value)["type"] for e in events] == ["TicketOpened", "TicketTriaged"]
    assert len({e.partition for e in events}) == 1

    async def delivered() -> list[Any] | None:
        found = webhook_sink.for_ticket(ticket_id)
        return found or None

    [request] = await until(delivered, "webhook delivered")
    assert request.headers["Idempotency-Key"] == request.json()["notification_id"]
    assert Webhook(SECRET).verify(request.body, request.headers) == request.json()
    assert request.headers["webhook-id"] == request.json()["notification_id"]
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.body, int(time.time()))

    async def recorded() -> dict[str, Any] | None:
        # The receiver has it before the notifier records the outcome: wait for the record.
        notifications = await intake.get(
            f"/v1/customers/{customer_id}/notifications", headers={"X-API-Key": keys.agent}
        )
        by_channel = {n["channel"]: n for n in notifications.json()}
        webhook = by_channel.get("webhook", {})
        return by_channel if webhook.get("status") != "pending" else None

    by_channel = await until(recorded, "the webhook's outcome recorded")
    assert by_channel["webhook"]["status"] == "delivered"
    assert by_channel["in_app"]["subject"] == f"We received your ticket {ticket_id}"
    assert len(webhook_sink.for_ticket(ticket_id)) == 1


async def test_customer_and_agent_find_the_ticket_by_call_id(
    intake: httpx.AsyncClient, keys: Keys, database: Database
) -> None:
    customer_id = await new_customer(intake, keys, None)
    body = ticket_body(customer_id)
    ticket_id = (await open_ticket(intake, keys, body, str(uuid.uuid4()))).json()["ticket_id"]
    await until(lambda: ticket_document(database, ticket_id), "ticket stored")

    found = await intake.get(
        "/v1/tickets", params={"call_id": body["call_ids"][0]}, headers={"X-API-Key": keys.agent}
    )

    assert [t["ticket_id"] for t in found.json()] == [ticket_id]


async def test_retrying_with_the_same_idempotency_key_creates_nothing_new(
    intake: httpx.AsyncClient, keys: Keys, database: Database, endpoints: Endpoints
) -> None:
    customer_id = await new_customer(intake, keys, None)
    body = ticket_body(customer_id)
    key = str(uuid.uuid4())
    first = await open_ticket(intake, keys, body, key)
    ticket_id = first.json()["ticket_id"]
    await until(lambda: ticket_document(database, ticket_id), "ticket stored")

    again = await open_ticket(intake, keys, body, key)
    other_body = await open_ticket(intake, keys, {**body, "summary": "something else"}, key)

    assert again.status_code == 202
    assert again.json()["ticket_id"] == ticket_id
    assert other_body.status_code == 409
    call = body["call_ids"][0]
    assert await database[Collections.TICKETS].count_documents({"call_ids": call}) == 1
    events = await records_with_key(endpoints.kafka_bootstrap, TICKET_EVENTS, ticket_id)
    assert len(events) == 2


async def test_malformed_ticket_is_refused_naming_the_field(
    intake: httpx.AsyncClient, keys: Keys
) -> None:
    body = ticket_body("cust-x", category="broken_phone")
    del body["summary"]

    response = await open_ticket(intake, keys, body, str(uuid.uuid4()))

    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert fields == {("body", "summary"), ("body", "category")}


async def test_unknown_api_key_is_refused(intake: httpx.AsyncClient) -> None:
    response = await intake.post(
        "/v1/tickets", json=ticket_body("cust-x"), headers={"X-API-Key": "sb_not-a-key"}
    )

    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


async def test_malformed_command_is_dead_lettered_and_the_next_one_is_processed(
    intake: httpx.AsyncClient, keys: Keys, database: Database, endpoints: Endpoints
) -> None:
    customer_id = await new_customer(intake, keys, None)
    key = str(uuid.uuid4())
    ticket_id = ticket_id_for_request("crm", key)  # the same key, so the same partition
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            "switchboard.ticket-commands.v1",
            b'{"type": "OpenTicket", "ticket_id": "' + ticket_id.encode() + b'"}',
            key=ticket_id.encode(),
        )
    finally:
        await producer.stop()

    response = await open_ticket(intake, keys, ticket_body(customer_id), key)

    assert response.json()["ticket_id"] == ticket_id
    await until(lambda: ticket_document(database, ticket_id), "good command processed")
    [dead] = await records_with_key(endpoints.kafka_bootstrap, DEAD_LETTER, ticket_id)
    headers = {name: value.decode() for name, value in dead.headers}
    assert "details: Field required" in headers[DeadLetterHeader.ERROR]
    assert headers[DeadLetterHeader.SOURCE_TOPIC] == "switchboard.ticket-commands.v1"


async def test_webhook_failures_are_retried_until_delivered(
    intake: httpx.AsyncClient, keys: Keys, database: Database, webhook_sink: WebhookSink
) -> None:
    webhook_sink.statuses = [500, 503]
    customer_id = await new_customer(intake, keys, webhook_sink.url)
    response = await open_ticket(intake, keys, ticket_body(customer_id), str(uuid.uuid4()))
    ticket_id = response.json()["ticket_id"]

    async def delivered() -> Document | None:
        return await database[Collections.NOTIFICATIONS].find_one(
            {"ticket_id": ticket_id, "channel": "webhook", "status": "delivered"}
        )

    notification = await until(delivered, "webhook delivered after retries")
    assert notification["attempts"] == 3
    assert [o["status_code"] for o in notification["outcomes"]] == [500, 503, 200]
    assert len(webhook_sink.for_ticket(ticket_id)) == 3
    assert len({r.headers["Idempotency-Key"] for r in webhook_sink.for_ticket(ticket_id)}) == 1


async def test_events_left_pending_by_a_crash_are_relayed(
    platform: Platform, database: Database, endpoints: Endpoints
) -> None:
    ticket_id = ticket_id_for_request("relay-test", str(uuid.uuid4()))
    event = {
        "schema_version": 1,
        "type": "TicketTriaged",
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-01-01T00:00:00Z",
        "ticket_id": ticket_id,
        "customer_id": "cust-relay",
        "actor": {"role": "workflow", "name": "workflow"},
        "reason": "test",
        "team": "numbering",
        "priority": "p3",
    }
    # The state a crash between "saved" and "published" leaves behind.
    await database[Collections.TICKETS].insert_one(
        {
            "_id": ticket_id,
            "events": [event],
            "outbox_pending": [event["event_id"]],
            "updated_at": datetime.now(UTC) - timedelta(seconds=60),
        }
    )

    await until(lambda: ticket_document(database, ticket_id), "outbox drained by the relay")

    [record] = await records_with_key(endpoints.kafka_bootstrap, TICKET_EVENTS, ticket_id)
    assert json.loads(record.value)["event_id"] == event["event_id"]
