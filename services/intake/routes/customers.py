"""The customer directory: who a customer is and where their notifications go."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.intake.auth import Agent, AnyCaller
from services.intake.dependencies import CustomersDep, ReadsDep
from services.intake.routes.responses import Responses
from services.intake.schemas import CustomerRequest, CustomerView, NotificationView, Problem
from shared.vocabulary import CustomerId

router = APIRouter(tags=["customers"])
CUSTOMER_NOT_FOUND: Responses = {
    404: {"model": Problem, "description": "No such customer visible to the caller"}
}
CustomerIdPath = Annotated[CustomerId, Path()]


def _not_found(customer_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")


@router.get(
    "/customers/{customer_id}/notifications",
    responses=CUSTOMER_NOT_FOUND,
    summary="A customer's notifications, newest first (role: agent; customer: own)",
)
async def customer_notifications(
    customer_id: CustomerIdPath,
    caller: AnyCaller,
    reads: ReadsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationView]:
    if not caller.may_see(customer_id):
        raise _not_found(customer_id)
    return await reads.notifications(customer_id, limit)


@router.put("/customers/{customer_id}", summary="Create or replace a customer (role: agent)")
async def put_customer(
    customer_id: CustomerIdPath, body: CustomerRequest, _caller: Agent, customers: CustomersDep
) -> CustomerView:
    return await customers.save(customer_id, body)


@router.get(
    "/customers/{customer_id}",
    responses=CUSTOMER_NOT_FOUND,
    summary="Read a customer (role: agent; customer: own)",
)
async def get_customer(
    customer_id: CustomerIdPath, caller: AnyCaller, customers: CustomersDep
) -> CustomerView:
    customer = await customers.get(customer_id) if caller.may_see(customer_id) else None
    if customer is None:
        raise _not_found(customer_id)
    return customer
