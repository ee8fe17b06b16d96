"""What an operator's Prometheus sees of one ticket's story and one poison message."""

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from infra.services import Platform
from shared.topics import TICKET_COMMANDS
from tests.e2e.support import Endpoints, Keys, WebhookSink, until
from tests.e2e.test_walking_skeleton import new_customer, open_ticket, ticket_body

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_the_figures_of_every_service_move_as_a_ticket_and_a_poison_message_go_by(
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    endpoints: Endpoints,
    webhook_sink: WebhookSink,
) -> None:
    urls = {name: service.url for name, service in platform.services.items()}
    before = {name: await scrape(url) for name, url in urls.items()}
    customer_id = await new_customer(intake, keys, webhook_sink.url)

    response = await open_ticket(intake, keys, ticket_body(customer_id), str(uuid.uuid4()))
    assert response.status_code == 202, response.text

    opened = ("switchboard_events_published_total", {"type": "TicketOpened"})
    webhook = ("switchboard_notifications_total", {"channel": "webhook", "outcome": "delivered"})
    in_app = ("switchboard_notifications_total", {"channel": "in_app", "outcome": "delivered"})

    async def moved(service: str, name: str, labels: dict[str, str]) -> Samples | None:
        now = await scrape(urls[service])
        return now if value(now, name, **labels) > value(before[service], name, **labels) else None

    await until(lambda: moved("workflow", *opened), "the workflow's opened counter moves")
    await until(lambda: moved("notifier", *webhook), "the notifier's webhook deliveries move")
    notifier = await until(lambda: moved("notifier", *in_app), "in-app notifications move")
    attempts = {"channel": "webhook", "outcome": "delivered"}
    assert value(notifier, "switchboard_delivery_attempts_total", **attempts) >= 1
    assert value(notifier, "switchboard_store_counts_up") == 1

    intake_now = await scrape(urls["intake"])
    accepted = {"method": "POST", "route": "/v1/tickets", "status": "202"}
    assert value(intake_now, "switchboard_http_requests_total", **accepted) >= 1
    assert not any("TCK-" in dict(labels).get("route", "") for _, labels in intake_now)

    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    try:
        poison = f"TCK-{uuid.uuid4().hex[:16].upper()}"
        await producer.send_and_wait(
            TICKET_COMMANDS.name, b'{"type": "OpenTicket", "ticket_id": "1"}', key=poison.encode()
        )
    finally:
        await producer.stop()

    dead = ("switchboard_dead_letters_total", {"source_topic": TICKET_COMMANDS.name})
    workflow = await until(lambda: moved("workflow", *dead), "the dead-letter counter moves")
    assert value(workflow, "switchboard_store_counts_up") == 1
    assert any(name == "switchboard_tickets_open" for name, _ in workflow)
    consumed = {
        "app_name": "switchboard-workflow",
        "broker": "kafka",
        "handler": TICKET_COMMANDS.name,
    }
    assert value(workflow, "faststream_received_messages_total", **consumed) >= 2


def summed(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


async def test_an_operator_sees_open_tickets_by_priority_a_broadcast_reach_its_total_and_no_lag(
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    webhook_sink: WebhookSink,
) -> None:
    workflow_url = platform.services["workflow"].url
    notifier_url = platform.services["notifier"].url
    p1_before = summed(await scrape(workflow_url), "switchboard_tickets_open", priority="p1")
    customer_id = await new_customer(intake, keys, webhook_sink.url)
    outage = ticket_body(
        customer_id, category="service_outage", affected={"region": f"r-{uuid.uuid4().hex[:8]}"}
    )
    response = await open_ticket(intake, keys, outage, str(uuid.uuid4()))
    assert response.status_code == 202, response.text

    async def p1_raised() -> Samples | None:
        now = await scrape(workflow_url)
        return now if summed(now, "switchboard_tickets_open", priority="p1") > p1_before else None

    workflow = await until(p1_raised, "the open p1 tickets gauge rises")
    assert summed(workflow, "switchboard_tickets_open", status="triaged", priority="p1") >= 1

    declared = await intake.post(
        "/v1/incidents",
        json={
            "title": "Calls fail",
            "severity": "major",
            "scope": {"customer_ids": [customer_id]},
            "message": "Calls fail; we are on it.",
        },
        headers={"X-API-Key": keys.system, "Idempotency-Key": f"metrics-{customer_id}"},
    )
    assert declared.status_code == 202, declared.text
    incident = {"incident_id": declared.json()["incident_id"], "event_type": "IncidentDeclared"}

    async def broadcast_done() -> Samples | None:
        now = await scrape(notifier_url)
        planned = value(now, "switchboard_broadcast_notifications", **incident, state="planned")
        delivered = value(now, "switchboard_broadcast_notifications", **incident, state="delivered")
        return now if planned and delivered == planned else None

    notifier = await until(broadcast_done, "the broadcast's delivered reach its planned total")
    assert value(notifier, "switchboard_broadcast_customers", **incident) == 1
    for state in ("failed", "pending"):
        assert value(notifier, "switchboard_broadcast_notifications", **incident, state=state) == 0
    planned = value(notifier, "switchboard_broadcast_notifications", **incident, state="planned")
    notified = value(notifier, "switchboard_broadcast_notifications", **incident, state="notified")
    assert notified == planned == 2  # in-app and the webhook

    commands = {"group": "switchboard-workflow", "topic": TICKET_COMMANDS.name}

    async def caught_up() -> Samples | None:
        now = await scrape(workflow_url)
        lags = [
            v
            for (n, labels), v in now.items()
            if n == "switchboard_consumer_lag" and set(commands.items()) <= labels
        ]
        return now if len(lags) == TICKET_COMMANDS.partitions and not any(lags) else None

    await until(caught_up, "the workflow reports every ticket-commands partition, caught up")
