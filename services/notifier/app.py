"""Composition root of the notifier service."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from services.notifier.alerts.chat import ChatWebhook
from services.notifier.alerts.relay import AlertRelay
from services.notifier.broadcasts.deliveries import BroadcastContacts, BroadcastDeliveries
from services.notifier.broadcasts.plans import BroadcastPlanner, KafkaChunkQueue
from services.notifier.broadcasts.store import BroadcastStore
from services.notifier.channels.base import ChannelAdapter
from services.notifier.channels.email import EmailChannel
from services.notifier.channels.sms import SmsChannel
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.directory import CustomerDirectory
from services.notifier.domain.policy import shipped_templates
from services.notifier.metrics import DeliveryCounters, store_counts
from services.notifier.notifications.deliveries import DeliveryWorker
from services.notifier.notifications.delivery_events import KafkaDeliveryEvents
from services.notifier.notifications.plans import TicketNotifications
from services.notifier.notifications.store import NotificationStore
from services.notifier.settings import NotifierSettings
from services.notifier.subscribers import (
    build_alert_router,
    build_broadcast_router,
    build_router,
)
from shared.asyncapi import asyncapi_route, service_asyncapi
from shared.deliveries import NotificationEvent
from shared.incidents import BroadcastChunk
from shared.kafka import DeadLetterPolicy, create_broker, ensure_topics
from shared.metrics import ConsumerLag, metrics_route, scrape_refresh
from shared.mongo import Collections, create_client, ensure_indexes
from shared.probes import probe_routes
from shared.producers import DirectPublisher
from shared.topics import ALL_TOPICS, INCIDENT_BROADCASTS, NOTIFICATION_EVENTS
from shared.tracing import configure_tracing
from shared.vocabulary import Channel


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_channels(
    settings: NotifierSettings, http: httpx.AsyncClient, webhooks: WebhookChannel
) -> dict[str, ChannelAdapter]:
    """Which adapter delivers each channel; in-app needs none, as stored is delivered."""
    return {
        Channel.EMAIL.value: EmailChannel.from_settings(settings),
        Channel.SMS.value: SmsChannel.from_settings(settings, http),
        Channel.WEBHOOK.value: webhooks,
    }


@dataclass(frozen=True)
class Alerts:
    relay: AlertRelay
    http: httpx.AsyncClient


def build_alerts(settings: NotifierSettings) -> Alerts | None:
    """Operator alerts to the chat webhook, when one is set."""
    if not settings.alert_webhook_url.get_secret_value():
        return None
    http = httpx.AsyncClient(
        timeout=settings.alert_timeout_s, headers={"User-Agent": "Switchboard-Notifier/1"}
    )
    chat = ChatWebhook(settings.alert_webhook_url, http, settings.alert_backoff_max_s)
    return Alerts(AlertRelay(chat, settings.alert_interval_s), http)


def create_app(settings: NotifierSettings) -> AsgiFastStream:
    shipped_templates()  # every message template compiles, or the notifier does not start
    registry = CollectorRegistry() if settings.metrics_enabled else None
    tracing = configure_tracing("switchboard-notifier", settings)
    broker = create_broker(
        settings,
        client_id="switchboard-notifier",
        dead_letter=DeadLetterPolicy(settings.notifier_group),
        description="Notifier: tells customers what happens to their tickets.",
        registry=registry,
        tracing=tracing,
    )
    client = create_client(settings)
    database = client[settings.mongo_database]
    store = NotificationStore(database[Collections.NOTIFICATIONS])
    directory = CustomerDirectory(database[Collections.CUSTOMERS])
    http = httpx.AsyncClient(  # the SMS gateway's; webhooks have a client of their own
        timeout=settings.sms_timeout_s,
        limits=httpx.Limits(
            max_connections=settings.delivery_concurrency + settings.broadcast_concurrency
        ),
        headers={"User-Agent": "Switchboard-Notifier/1"},
    )
    webhooks = WebhookChannel.from_settings(settings)
    delivery_events = broker.publisher(
        NOTIFICATION_EVENTS.name,
        schema=NotificationEvent,
        title="notification-events",
        description=NOTIFICATION_EVENTS.description,
    )
    worker_events = KafkaDeliveryEvents(DirectPublisher(broker, delivery_events))
    broadcasts = BroadcastStore(
        database[Collections.BROADCASTS], database[Collections.BROADCAST_CHUNKS]
    )
    worker = DeliveryWorker(
        store,
        directory,
        build_channels(settings, http, webhooks),
        utc_now,
        settings,
        worker_events,
        settled=broadcasts,
        counters=DeliveryCounters(registry) if registry else None,
        tracing=tracing,
    )
    notifications = TicketNotifications(
        store, directory, worker, utc_now, email_hold_s=settings.email_hold_s, tracing=tracing
    )
    broker.include_router(
        build_router(notifications, settings.notifier_group, settings.consumer_batch)
    )
    chunks = broker.publisher(
        INCIDENT_BROADCASTS.name,
        schema=BroadcastChunk,
        title="incident-broadcasts:plan",
        description=INCIDENT_BROADCASTS.description,
    )
    planner = BroadcastPlanner(
        directory, broadcasts, KafkaChunkQueue(chunks), utc_now, settings.broadcast_chunk_size
    )
    contacts = BroadcastContacts(directory, utc_now, settings.broadcast_directory_ttl_s)
    chunk_deliveries = BroadcastDeliveries(
        store, broadcasts, contacts, worker, worker_events, utc_now, settings
    )
    broker.include_router(
        build_broadcast_router(
            planner, chunk_deliveries, settings.notifier_group, settings.broadcast_chunk_workers
        )
    )
    alerts = build_alerts(settings)
    if alerts is not None:
        broker.include_router(
            build_alert_router(alerts.relay, settings.notifier_group, settings.consumer_batch)
        )
    tasks: set[asyncio.Task[None]] = set()

    async def prepare() -> None:
        await ensure_topics(settings.kafka_bootstrap, ALL_TOPICS)
        await ensure_indexes(database)

    async def start_worker() -> None:
        tasks.add(asyncio.create_task(worker.run(), name="delivery-worker"))
        if alerts is not None:
            tasks.add(asyncio.create_task(alerts.relay.run(), name="alert-relay"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()
        await webhooks.aclose()
        if alerts is not None:
            await alerts.http.aclose()
        await client.close()
        tracing.shutdown()

    routes = probe_routes(broker, database)
    if registry is not None:
        counts = store_counts(registry, database, utc_now)
        refresh = scrape_refresh(counts, ConsumerLag(registry, broker))
        routes.append(metrics_route(registry, refresh))
    return AsgiFastStream(
        broker,
        asgi_routes=routes,
        specification=service_asyncapi(broker, "notifier"),
        asyncapi_path=asyncapi_route(),
        logger=logging.getLogger("switchboard.notifier"),
        on_startup=[prepare],
        after_startup=[start_worker],
        on_shutdown=[stop],
    )
