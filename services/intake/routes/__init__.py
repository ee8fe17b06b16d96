"""HTTP routes of intake: validate, authorise, then publish a command or read MongoDB."""

from fastapi import APIRouter

from services.intake.routes import (
    agent_actions,
    customer_actions,
    customers,
    incidents,
    streams,
    tickets,
)
from services.intake.schemas import Problem

router = APIRouter(prefix="/v1", responses={401: {"model": Problem}, 403: {"model": Problem}})
for part in (tickets, agent_actions, customer_actions, customers, incidents, streams):
    router.include_router(part.router)
