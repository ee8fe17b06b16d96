"""Delivery events published in bulk straight to the producer, read back from the real Kafka."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from services.notifier.notifications.delivery_events import KafkaDeliveryEvents
from services.notifier.settings import NotifierSettings
from shared.deliveries import NotificationDelivered, NotificationEvent, NotificationSent
from shared.kafka import create_broker, ensure_topics
from shared.producers import DirectPublisher, RenewingProducer
from shared.topics import Topic
from shared.tracing import current_traceparent
from tests.e2e.support import Endpoints

INCIDENT_ID = "INC-0123456789ABCDEF"
TICKETS = ("TCK-AAAAAAAAAAAAAAAA", "TCK-BBBBBBBBBBBBBBBB")


def events(count: int) -> list[NotificationEvent]:
    """Sent and delivered pairs, alternating between two tickets and one incident."""
    now = datetime.now(UTC)
    made: list[NotificationEvent] = []
    for index in range(count // 2):
        ticket = TICKETS[index % 2] if index % 3 else None
        common: dict[str, Any] = {
            "occurred_at": now,
            "notification_id": f"NTF-{index}",
            "ticket_id": ticket,
            "incident_id": None if ticket else INCIDENT_ID,
            "customer_id": f"customer-{index}",
            "contact_id": "noc",
            "channel": "webhook",
            "event_type": "IncidentDeclared",
            "attempt": 1,
        }
        made.append(NotificationSent(event_id=f"EVT-{index}-sent", **common))
        made.append(NotificationDelivered(event_id=f"EVT-{index}-delivered", **common))
    return made


async def read_back(
    bootstrap: str, topic: str, count: int
) -> list[tuple[bytes, dict[str, bytes], bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    read: list[tuple[bytes, dict[str, bytes], bytes]] = []
    try:
        while len(read) < count:
            batches = await consumer.getmany(timeout_ms=10_000)
            if not batches:
                break
            for records in batches.values():
                read.extend((r.key, dict(r.headers), r.value) for r in records)
    finally:
        await consumer.stop()
    return read


async def test_bulk_published_events_keep_keys_order_headers_trace_and_are_counted(
    endpoints: Endpoints,
) -> None:
    topic = Topic(f"test.bulk-{uuid.uuid4().hex[:8]}", 3, "ticket or incident id", "a test topic")
    await ensure_topics(endpoints.kafka_bootstrap, [topic])
    registry = CollectorRegistry()
    settings = NotifierSettings(kafka_bootstrap=endpoints.kafka_bootstrap)
    broker = create_broker(settings, "bulk-test", registry=registry)
    published = events(60)
    tracer = TracerProvider().get_tracer("test")
    await broker.start()
    try:
        assert isinstance(broker.config.broker_config.producer, RenewingProducer)
        delivery_events = KafkaDeliveryEvents(DirectPublisher(broker, broker.publisher(topic.name)))
        with tracer.start_as_current_span("flush"):
            traceparent = current_traceparent()
            await delivery_events.publish(published)
    finally:
        await broker.stop()

    read = await read_back(endpoints.kafka_bootstrap, topic.name, len(published))
    assert len(read) == len(published)
    assert traceparent is not None
    by_key: dict[bytes, list[str]] = {}
    for key, headers, value in read:
        body = json.loads(value)
        assert headers["event-type"].decode() == body["type"]
        assert headers["content-type"] == b"application/json"
        assert headers["traceparent"] == traceparent.encode()
        by_key.setdefault(key, []).append(body["event_id"])
    for key, ids in by_key.items():  # one key's events in the order they were published
        expected = [
            e.event_id for e in published if (e.ticket_id or e.incident_id or "").encode() == key
        ]
        assert ids == expected
    assert set(by_key) == {INCIDENT_ID.encode(), *(t.encode() for t in TICKETS)}
    counted = registry.get_sample_value(
        "faststream_published_messages_total",
        {
            "app_name": "bulk-test",
            "broker": "kafka",
            "destination": topic.name,
            "status": "success",
        },
    )
    assert counted == len(published)
