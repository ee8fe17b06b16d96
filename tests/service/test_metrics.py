"""Each service's metrics move as the story goes: requests, events, dead letters, deliveries."""

from typing import Any

import httpx
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry
from pymongo.errors import ServerSelectionTimeoutError

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER
from services.intake.settings import IntakeSettings
from services.notifier.metrics import DeliveryCounters
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.plans import TicketNotifications
from shared.metrics import ScrapeCounts, StoreCount, StoreGauge
from shared.mongo import Document
from shared.settings import Environment
from shared.topics import DEAD_LETTER, TICKET_COMMANDS
from shared.vocabulary import Channel
from tests.service.fakes import (
    NOW,
    FakeChannel,
    FakeCustomerDirectory,
    FakeNotificationStore,
    FixedClock,
    RecordedDeliveryEvents,
    open_ticket_command,
)
from tests.service.test_deliveries import (
    ACME,
    DELIVERED,
    REJECTED,
    SERVER_ERROR,
    SETTINGS,
    webhook_notification,
)
from tests.service.test_intake_api import REPORT, FakeApiKeys, FakeBus, FakeReads
from tests.service.test_notifications import opened
from tests.service.workflow_wiring import build_workflow, send


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_a_ticket_opened_raises_the_opened_counter_and_the_consumed_count() -> None:
    registry = CollectorRegistry()
    workflow = build_workflow(registry=registry)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, open_ticket_command())

    published = "switchboard_events_published_total"
    assert sample(registry, published, type="TicketOpened") == 1
    assert sample(registry, published, type="TicketTriaged") == 1
    consumed = sample(
        registry,
        "faststream_received_messages_total",
        app_name="switchboard-workflow",
        broker="kafka",
        handler=TICKET_COMMANDS.name,
    )
    assert consumed >= 1


async def test_a_dead_letter_raises_its_counter_by_source_topic() -> None:
    registry = CollectorRegistry()
    workflow = build_workflow(registry=registry)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send(broker, {"type": "OpenTicket", "ticket_id": "TCK-BAD", "details": {}})

    assert len(workflow.dead_letters) == 1
    assert (
        sample(registry, "switchboard_dead_letters_total", source_topic=TICKET_COMMANDS.name) == 1
    )
    published = sample(
        registry,
        "faststream_published_messages_total",
        app_name="switchboard-workflow",
        broker="kafka",
        destination=DEAD_LETTER.name,
        status="success",
    )
    assert published == 1


def delivery_worker(counters: DeliveryCounters, *results: Any) -> DeliveryWorker:
    return DeliveryWorker(
        FakeNotificationStore(),
        FakeCustomerDirectory(ACME),
        {Channel.WEBHOOK.value: FakeChannel(iter(results))},
        FixedClock(NOW),
        SETTINGS,
        RecordedDeliveryEvents(),
        counters=counters,
    )


async def test_delivery_attempts_and_settled_notifications_are_counted_by_channel_and_outcome() -> (
    None
):
    registry = CollectorRegistry()
    worker = delivery_worker(DeliveryCounters(registry), SERVER_ERROR, DELIVERED, REJECTED)
    contact = await FakeCustomerDirectory(ACME).contact("acme-telecom", "noc")

    await worker.attempt(webhook_notification(1), contact)
    await worker.attempt(webhook_notification(1, attempts=1), contact)
    await worker.attempt(webhook_notification(2), contact)

    def attempts(outcome: str) -> float:
        return sample(
            registry, "switchboard_delivery_attempts_total", channel="webhook", outcome=outcome
        )

    def settled(outcome: str) -> float:
        return sample(
            registry, "switchboard_notifications_total", channel="webhook", outcome=outcome
        )

    assert (attempts("retrying"), attempts("delivered"), attempts("failed")) == (1, 1, 1)
    assert (settled("delivered"), settled("failed")) == (1, 1)


async def test_in_app_notifications_count_as_delivered_once_however_often_their_event_comes() -> (
    None
):
    registry = CollectorRegistry()
    worker = delivery_worker(DeliveryCounters(registry))
    store = FakeNotificationStore()
    directory = FakeCustomerDirectory(ACME)
    notifications = TicketNotifications(store, directory, worker, FixedClock(NOW))

    await notifications.on_event(opened())
    await notifications.on_event(opened())  # redelivered

    delivered = {"channel": "in_app", "outcome": "delivered"}
    assert sample(registry, "switchboard_notifications_total", **delivered) == 1


class CountingCollection:
    """Answers `count_documents` from a table of filters, or fails as a store that is down."""

    def __init__(self, counts: dict[str, int], down: bool = False) -> None:
        self.counts, self.down = counts, down
        self.queries: list[Document] = []

    async def count_documents(self, query: Document) -> int:
        if self.down:
            raise ServerSelectionTimeoutError("no store")
        self.queries.append(query)
        return self.counts[repr(query)]


async def test_store_gauges_are_counted_at_scrape_time_and_kept_when_the_store_is_down() -> None:
    registry = CollectorRegistry()
    triaged, investigating = {"status": "triaged"}, {"status": "investigating"}
    tickets = CountingCollection({repr(triaged): 4, repr(investigating): 2})
    collection: Any = tickets
    counts = [
        StoreCount(collection, triaged, {"status": "triaged"}),
        StoreCount(collection, investigating, {"status": "investigating"}),
    ]
    scrape = ScrapeCounts(registry, [StoreGauge(registry, "tickets_open", "open", counts)])

    assert tickets.queries == []  # nothing is counted until a scrape
    await scrape.refresh()
    tickets.down = True
    await scrape.refresh()

    assert sample(registry, "switchboard_tickets_open", status="triaged") == 4
    assert sample(registry, "switchboard_tickets_open", status="investigating") == 2
    assert sample(registry, "switchboard_store_counts_up") == 0


async def test_intake_counts_requests_by_route_template_and_status() -> None:
    settings = IntakeSettings(
        environment=Environment.TEST,
        kafka_bootstrap="127.0.0.1:1",
        mongo_url="mongodb://127.0.0.1:1/",
    )
    app = create_app(settings)
    app.state.bus, app.state.reads, app.state.api_keys = FakeBus(), FakeReads(), FakeApiKeys()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        headers = {API_KEY_HEADER: "key-crm", "Idempotency-Key": "crm-1"}
        assert (await http.post("/v1/tickets", json=REPORT, headers=headers)).status_code == 202
        for ticket_id in ("TCK-0000000000000001", "TCK-0000000000000002"):
            agent = {API_KEY_HEADER: "key-agent"}
            assert (await http.get(f"/v1/tickets/{ticket_id}", headers=agent)).status_code == 404
        await http.get("/no/such/path")
        scraped = await http.get("/metrics")

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert (
        'switchboard_http_requests_total{method="POST",route="/v1/tickets",status="202"} 1.0'
        in text
    )
    assert (
        'switchboard_http_requests_total{method="GET",route="/v1/tickets/{ticket_id}",'
        'status="404"} 2.0' in text
    )
    assert 'route="unmatched",status="404"} 1.0' in text
    assert "TCK-0000000000000001" not in text
    assert (
        'switchboard_http_request_duration_seconds_count{method="POST",route="/v1/tickets"}' in text
    )


async def test_intake_without_metrics_serves_no_metrics() -> None:
    settings = IntakeSettings(environment=Environment.TEST, metrics_enabled=False)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        assert (await http.get("/metrics")).status_code == 404
