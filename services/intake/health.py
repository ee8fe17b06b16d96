"""Liveness and readiness probes."""

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from services.intake.commands import CommandBus
from shared.mongo import Database
from shared.probes import database_answers


class Readiness(BaseModel):
    kafka: bool
    database: bool


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
        kafka, db = bus.reachable, await database_answers(database)
        if not (kafka and db):
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(kafka=kafka, database=db)

    return router
