"""Liveness and readiness endpoints for the FastStream services (workflow, notifier)."""

import asyncio
import json

from faststream.asgi import AsgiResponse, get
from faststream.asgi.handlers import GetHandler
from faststream.asgi.types import Scope
from faststream.kafka import KafkaBroker
from pymongo.errors import PyMongoError

from shared.mongo import Database, ping


async def database_answers(database: Database, timeout_s: float = 2.0) -> bool:
    try:
        return await asyncio.wait_for(ping(database), timeout_s)
    except (PyMongoError, TimeoutError):
        return False


def _json(payload: dict[str, object], status_code: int) -> AsgiResponse:
    return AsgiResponse(
        json.dumps(payload).encode(), status_code, headers={"content-type": "application/json"}
    )


def probe_routes(broker: KafkaBroker, database: Database) -> list[tuple[str, GetHandler]]:
    @get(description="The process is alive")
    async def healthz(_scope: Scope) -> AsgiResponse:
        return _json({"status": "ok"}, 200)

    @get(description="Kafka and the database answer")
    async def readyz(_scope: Scope) -> AsgiResponse:
        kafka, db = await asyncio.gather(broker.ping(2.0), database_answers(database))
        return _json({"kafka": kafka, "database": db}, 200 if kafka and db else 503)

    return [("/healthz", healthz), ("/readyz", readyz)]
