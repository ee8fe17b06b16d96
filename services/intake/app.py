"""Composition root of the intake service."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse

from services.intake.auth import ApiKeys
from services.intake.commands import CommandBus, KafkaOutcomeUnknown, KafkaUnavailable
from services.intake.customers import Customers
from services.intake.health import build_health_router
from services.intake.queries import Reads
from services.intake.routes import router
from services.intake.settings import IntakeSettings
from shared.events import TicketCommand
from shared.kafka import create_broker, ensure_topics
from shared.mongo import Collections, create_client
from shared.topics import TICKET_COMMANDS

DESCRIPTION = """
The HTTP edge of Switchboard. Source systems and agents open tickets; customers and agents
find them by ticket id or by the call ID of the problem call. Every write becomes a command
on Kafka (a 2xx means Kafka acknowledged it); every read comes from MongoDB.
Authenticate with an API key in the `X-API-Key` header.
"""


def create_app(settings: IntakeSettings) -> FastAPI:
    broker = create_broker(settings, client_id="switchboard-intake")
    publisher = broker.publisher(
        TICKET_COMMANDS.name,
        schema=TicketCommand,
        title="ticket-commands",
        description=TICKET_COMMANDS.description,
    )
    bus = CommandBus(
        broker,
        publisher,
        settings.publish_timeout_s,
        prepare=lambda: ensure_topics(settings.kafka_bootstrap, [TICKET_COMMANDS]),
    )
    client = create_client(settings)
    database = client[settings.mongo_database]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(bus.run(), name="kafka-link")
        yield
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await bus.close()
        await client.close()

    app = FastAPI(
        title="Switchboard intake", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.broker = broker
    app.state.bus = bus
    app.state.reads = Reads(database)
    app.state.customers = Customers(database)
    app.state.api_keys = ApiKeys(database[Collections.API_KEYS])
    app.include_router(router)
    app.include_router(build_health_router(bus, database))

    @app.exception_handler(KafkaUnavailable)
    async def kafka_unavailable(_request: Request, _error: KafkaUnavailable) -> Response:
        return JSONResponse(
            {"detail": "the ticket system cannot accept requests right now; nothing was stored"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.retry_after_s)},
        )

    @app.exception_handler(KafkaOutcomeUnknown)
    async def kafka_outcome_unknown(_request: Request, _error: KafkaOutcomeUnknown) -> Response:
        return JSONResponse(
            {
                "detail": "the request was not confirmed in time and may still be applied; "
                "retry with the same Idempotency-Key, which is always safe"
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.retry_after_s)},
        )

    return app
