"""Composition root of the intake service."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.intake.api import router
from services.intake.auth import ApiKeys
from services.intake.commands import CommandBus, Publishers
from services.intake.console.routes import install_console
from services.intake.customers.directory import Customers
from services.intake.errors import register_error_handlers
from services.intake.health import build_health_router
from services.intake.incidents.queries import IncidentReads
from services.intake.limits import BodyLimit, RateLimit, RateLimits
from services.intake.metrics import RequestMetrics, build_metrics_router
from services.intake.responses import with_problem_media_type
from services.intake.settings import IntakeSettings
from services.intake.tickets.queries import Reads
from services.intake.traces import RequestSpans
from shared.events import TicketCommand
from shared.incidents import AnyIncidentCommand
from shared.kafka import create_broker, ensure_topics
from shared.mongo import Collections, create_client
from shared.producers import DirectPublisher
from shared.topics import INCIDENT_COMMANDS, TICKET_COMMANDS, Topic
from shared.tracing import configure_tracing

DESCRIPTION = """
The HTTP edge of Switchboard. Source systems and agents open tickets; agents work them
through the support lifecycle; customers follow their own tickets, comment, confirm the
resolution or report that the problem is back. Anyone finds a ticket by the call ID of the
problem call. Operators declare outages (incidents), post updates and resolve them; every
affected customer is told, and customers see the open incidents that hit them.
Every write becomes a command on Kafka, answered `202` only once Kafka acknowledged it; every
read comes from MongoDB. A write whose step the ticket's status does not allow is refused
with `409`, naming what it does allow.
Authenticate with an API key in the `X-API-Key` header; send an `Idempotency-Key` header to
make retries safe (declaring an incident requires one).

Every error is an RFC 9457 problem details body (`application/problem+json`: `type`, `title`,
`status`, `detail`; a `422` adds `errors`, naming each invalid field). A body that is not JSON
at all is a `400`; one over the size limit a `413`; a key calling faster than its rate limit
gets `429` with `Retry-After`. `OPTIONS` on a path answers `204` with `Allow` naming the
methods it serves; any other method it does not serve is a `405` with the same `Allow`.
"""


def create_app(settings: IntakeSettings) -> FastAPI:
    tracing = configure_tracing("switchboard-intake", settings)
    broker = create_broker(settings, client_id="switchboard-intake", tracing=tracing)

    def commands_on(topic: Topic, schema: Any, title: str) -> DirectPublisher:
        publisher = broker.publisher(
            topic.name, schema=schema, title=title, description=topic.description
        )
        return DirectPublisher(broker, publisher)

    publishers = Publishers(
        tickets=commands_on(TICKET_COMMANDS, TicketCommand, "ticket-commands"),
        incidents=commands_on(INCIDENT_COMMANDS, AnyIncidentCommand, "incident-commands"),
    )
    bus = CommandBus(
        broker,
        publishers,
        settings.publish_timeout_s,
        prepare=lambda: ensure_topics(
            settings.kafka_bootstrap, [TICKET_COMMANDS, INCIDENT_COMMANDS]
        ),
    )
    client = create_client(settings)
    database = client[settings.mongo_database]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(bus.run(), name="kafka-link")
        yield
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await console.stop()
        await bus.close()
        await client.close()
        tracing.shutdown()

    app = FastAPI(
        title="Switchboard intake", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.broker = broker
    app.state.bus = bus
    app.state.reads = Reads(database)
    app.state.incident_reads = IncidentReads(database)
    app.state.customers = Customers(database)
    app.state.api_keys = ApiKeys(database[Collections.API_KEYS], settings.api_key_cache_s)
    app.include_router(router)
    app.include_router(build_health_router(bus, database))
    console = install_console(app, settings, database)
    register_error_handlers(app, settings.retry_after_s)
    # The last added runs first: a caller over its rate is refused before its body is read.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    limits = RateLimits(settings.rate_limit_per_s, settings.rate_limit_burst)
    app.add_middleware(RateLimit, limits=limits)
    app.state.rate_limits = limits
    if tracing.enabled:  # off, not installed at all
        app.add_middleware(RequestSpans, tracing=tracing, routes=lambda: app.routes)
    if settings.metrics_enabled:  # outermost: requests refused at the edge are counted too
        registry = CollectorRegistry()
        app.add_middleware(RequestMetrics, registry=registry, routes=lambda: app.routes)
        app.include_router(build_metrics_router(registry))
    _serve_problems_in_openapi(app)
    return app


def _serve_problems_in_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problem_media_type(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
