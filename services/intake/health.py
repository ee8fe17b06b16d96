"""Liveness and readiness probes."""

import asyncio

from fastapi import APIRouter, Response, status
from pymongo.errors import PyMongoError

from services.intake.commands import CommandBus
from services.intake.schemas import Readiness
from shared.mongo import Database, ping


def build_health_router(bus: CommandBus, database: Database) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Kafka and the database answer",
        responses={503: {"model": Readiness}},
    )
    async def readyz(response: Response) -> Readiness:
        kafka, db = await asyncio.gather(bus.ready(), _database_answers(database))
        if not (kafka and db):
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(kafka=kafka, database=db)

    return router


async def _database_answers(database: Database) -> bool:
    try:
        return await asyncio.wait_for(ping(database), 2.0)
    except (PyMongoError, TimeoutError):
        return False
