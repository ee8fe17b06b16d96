"""HTTP routes of intake: validate, authorise, then publish a command or read MongoDB."""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)

from services.intake.auth import Agent, AnyCaller, Reporter
from services.intake.commands import CommandBus
from services.intake.customers import Customers
from services.intake.queries import Reads
from services.intake.schemas import (
    CustomerRequest,
    CustomerView,
    NotificationView,
    Problem,
    TicketAccepted,
    TicketRequest,
    TicketView,
)
from shared.events import Actor, OpenTicket, TicketDetails
from shared.vocabulary import CallId, CustomerId, TicketId, ticket_id_for_request


def _reads(request: Request) -> Reads:
    reads: Reads = request.app.state.reads
    return reads


def _bus(request: Request) -> CommandBus:
    bus: CommandBus = request.app.state.bus
    return bus


def _customers(request: Request) -> Customers:
    customers: Customers = request.app.state.customers
    return customers


ReadsDep = Annotated[Reads, Depends(_reads)]
BusDep = Annotated[CommandBus, Depends(_bus)]
CustomersDep = Annotated[Customers, Depends(_customers)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retrying with the same key returns the same ticket and creates nothing new.",
    ),
]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such ticket visible to the caller"}
}
router = APIRouter(prefix="/v1", responses={401: {"model": Problem}, 403: {"model": Problem}})


def ticket_url(ticket_id: str) -> str:
    return f"/v1/tickets/{ticket_id}"


@router.post(
    "/tickets",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"model": Problem, "description": "Idempotency-Key reused for another request"},
        503: {
            "model": Problem,
            "description": "Kafka unavailable; retry after Retry-After with the same key",
            "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
        },
    },
    summary="Open a ticket (roles: system, agent)",
)
async def open_ticket(
    body: TicketRequest,
    caller: Reporter,
    reads: ReadsDep,
    bus: BusDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TicketAccepted:
    ticket_id = ticket_id_for_request(caller.name, idempotency_key or str(uuid.uuid4()))
    details = TicketDetails.model_validate(body.model_dump())
    request_hash = hashlib.sha256(details.model_dump_json().encode()).hexdigest()
    known_hash = await reads.request_hash(ticket_id)
    if known_hash is not None and known_hash != request_hash:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="Idempotency-Key was already used for another request"
        )
    if known_hash is None:
        command = OpenTicket(
            command_id=f"open:{ticket_id}",
            issued_at=datetime.now(UTC),
            issued_by=Actor(role=caller.role, name=caller.name),
            ticket_id=ticket_id,
            details=details,
            request_hash=request_hash,
        )
        await bus.send(command, key=ticket_id)
    response.headers["Location"] = ticket_url(ticket_id)
    return TicketAccepted(ticket_id=ticket_id, url=ticket_url(ticket_id))


@router.get("/tickets/{ticket_id}", responses=NOT_FOUND, summary="Read a ticket (any role)")
async def get_ticket(
    ticket_id: Annotated[TicketId, Path()], caller: AnyCaller, reads: ReadsDep
) -> TicketView:
    ticket = await reads.ticket(ticket_id, caller)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"ticket {ticket_id} not found")
    return ticket


@router.get("/tickets", summary="Find tickets by the call ID of a problem call (any role)")
async def find_tickets(
    call_id: Annotated[CallId, Query(description="A call ID the ticket carries")],
    caller: AnyCaller,
    reads: ReadsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TicketView]:
    return await reads.tickets_by_call(call_id, caller, limit)


@router.get(
    "/customers/{customer_id}/notifications",
    responses={404: {"model": Problem}},
    summary="A customer's notifications, newest first (agents; customers for themselves)",
)
async def customer_notifications(
    customer_id: Annotated[CustomerId, Path()],
    caller: AnyCaller,
    reads: ReadsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationView]:
    if not caller.may_see(customer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")
    return await reads.notifications(customer_id, limit)


@router.put("/customers/{customer_id}", summary="Create or replace a customer (role: agent)")
async def put_customer(
    customer_id: Annotated[CustomerId, Path()],
    body: CustomerRequest,
    _caller: Agent,
    customers: CustomersDep,
) -> CustomerView:
    return await customers.save(customer_id, body)


@router.get(
    "/customers/{customer_id}", responses={404: {"model": Problem}}, summary="Read a customer"
)
async def get_customer(
    customer_id: Annotated[CustomerId, Path()], caller: AnyCaller, customers: CustomersDep
) -> CustomerView:
    customer = await customers.get(customer_id) if caller.may_see(customer_id) else None
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")
    return customer
