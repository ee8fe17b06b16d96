"""The customer directory over HTTP: entries, contacts' preferences, who an outage hits.

Another customer's entry is not found (404), so customer ids reveal nothing.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import ValidationError

from services.intake.auth import Agent, AgentOrCustomer
from services.intake.customers.schemas import (
    ContactView,
    CustomerFilters,
    CustomerRequest,
    CustomerView,
    NotificationView,
    PreferencesRequest,
    contact_view,
    customer_view,
)
from services.intake.dependencies import CustomersDep, ReadsDep
from services.intake.errors import invalid_body
from services.intake.problems import Problem
from services.intake.responses import UNAVAILABLE, WITH_BODY, Responses
from shared.vocabulary import CustomerId, Slug

router = APIRouter(tags=["customers"])
CUSTOMER_NOT_FOUND: Responses = {
    404: {"model": Problem, "description": "No such customer visible to the caller"}
}
CONTACT_NOT_FOUND: Responses = {
    404: {"model": Problem, "description": "No such customer visible to the caller, or contact"},
    409: {"model": Problem, "description": "The contacts kept changing meanwhile: try again"},
}
CustomerIdPath = Annotated[CustomerId, Path()]
ContactIdPath = Annotated[Slug, Path()]


def _not_found(customer_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")


@router.get(
    "/customers/{customer_id}/notifications",
    responses=CUSTOMER_NOT_FOUND,
    summary="A customer's notifications, newest first (role: agent; customer: own)",
)
async def customer_notifications(
    customer_id: CustomerIdPath,
    caller: AgentOrCustomer,
    reads: ReadsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationView]:
    if not caller.may_see(customer_id):
        raise _not_found(customer_id)
    return await reads.notifications(customer_id, limit)


@router.put(
    "/customers/{customer_id}",
    responses={**WITH_BODY, **UNAVAILABLE},
    summary="Create or replace a customer's directory entry (role: agent)",
    description=(
        "The whole entry: contacts (each with the channels it accepts, its language and the "
        "kinds of message it opted out of) and the services an outage can hit. Webhook secrets "
        "are stored for signing and never shown again."
    ),
)
async def put_customer(
    customer_id: CustomerIdPath, body: CustomerRequest, _caller: Agent, customers: CustomersDep
) -> CustomerView:
    try:
        customer = body.for_customer(customer_id)
    except ValidationError as error:
        raise invalid_body(error) from error
    await customers.save(customer)
    return customer_view(customer)


@router.get(
    "/customers",
    summary="Customers using a region, carrier route, number range or product (role: agent)",
    description=(
        "Filters combine. A region, carrier route or product is an exact value; a number range "
        "matches as outages do: a customer whose range lies inside it or covers it (`+34` finds "
        "`+3491`, and `+349112` finds it too). Without filters, every customer."
    ),
)
async def find_customers(
    filters: Annotated[CustomerFilters, Query()], _caller: Agent, customers: CustomersDep
) -> list[CustomerView]:
    return [customer_view(customer) for customer in await customers.matching(filters)]


@router.get(
    "/customers/{customer_id}",
    responses=CUSTOMER_NOT_FOUND,
    summary="Read a customer's directory entry (role: agent; customer: own)",
)
async def get_customer(
    customer_id: CustomerIdPath, caller: AgentOrCustomer, customers: CustomersDep
) -> CustomerView:
    customer = await customers.get(customer_id) if caller.may_see(customer_id) else None
    if customer is None:
        raise _not_found(customer_id)
    return customer_view(customer)


@router.patch(
    "/customers/{customer_id}/contacts/{contact_id}/preferences",
    responses={**CONTACT_NOT_FOUND, **WITH_BODY, **UNAVAILABLE},
    summary="Change a contact's language or opt-outs (role: agent; customer: own)",
    description="Outage messages and their resolution always go out: they cannot be opted out of.",
)
async def change_preferences(
    customer_id: CustomerIdPath,
    contact_id: ContactIdPath,
    body: PreferencesRequest,
    caller: AgentOrCustomer,
    customers: CustomersDep,
) -> ContactView:
    if not caller.may_see(customer_id):
        raise _not_found(customer_id)
    try:
        contact = await customers.change_preferences(customer_id, contact_id, body)
    except ValidationError as error:
        raise invalid_body(error) from error
    if contact is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} has no contact {contact_id}"
        )
    return contact_view(contact)
