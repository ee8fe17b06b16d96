"""HTTP routes of intake: validate, authorise, then publish a command or read MongoDB."""

from fastapi import APIRouter, Depends

from services.intake.customers import routes as customers
from services.intake.customers import streams
from services.intake.incidents import routes as incidents
from services.intake.query_parameters import refuse_unknown_query_parameters
from services.intake.responses import EVERY_ROUTE
from services.intake.surrogates import refuse_lone_surrogates
from services.intake.tickets import agent_actions, customer_actions
from services.intake.tickets import routes as tickets

router = APIRouter(
    prefix="/v1",
    responses=EVERY_ROUTE,
    dependencies=[Depends(refuse_unknown_query_parameters), Depends(refuse_lone_surrogates)],
)
for part in (tickets, agent_actions, customer_actions, customers, incidents, streams):
    router.include_router(part.router)
