"""Opening tickets and reading them: one ticket, a filtered list, a ticket's timeline."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.intake.auth import AnyCaller
from services.intake.dependencies import (
    ReadsDep,
    ReporterIssuer,
    TicketIdPath,
    VisibleTicket,
)
from services.intake.responses import NOT_FOUND, OPENING, command_route
from services.intake.tickets.documents import TimelineItem, view_for, views_for
from services.intake.tickets.schemas import (
    CommandAccepted,
    CustomerTicketView,
    TicketFilters,
    TicketRequest,
    TicketView,
)
from shared.events import TicketDetails
from shared.vocabulary import Role, ticket_id_for_request

router = APIRouter(tags=["tickets"])


@command_route(
    router,
    "/tickets",
    responses=OPENING,
    summary="Open a ticket (roles: system, agent)",
)
async def open_ticket(
    body: TicketRequest,
    issuer: ReporterIssuer,
    reads: ReadsDep,
    response: Response,
) -> CommandAccepted:
    ticket_id = ticket_id_for_request(
        issuer.caller.name, issuer.idempotency_key or str(uuid.uuid4())
    )
    details = TicketDetails.model_validate(body.model_dump())
    accepted = await issuer.open_ticket(reads, ticket_id, details)
    response.headers["Location"] = accepted.url
    return accepted


@router.get(
    "/tickets/{ticket_id}",
    responses=NOT_FOUND,
    summary="Read a ticket (roles: agent, system; customer: own tickets, without internals)",
)
async def get_ticket(ticket: VisibleTicket, caller: AnyCaller) -> TicketView | CustomerTicketView:
    return view_for(caller, ticket)


@router.get(
    "/tickets",
    summary="List tickets, newest first (roles: agent; customer: own tickets; system: by call_id)",
    description=(
        "Filters combine: status (repeatable), team (owning or involved), priority, breached, "
        "due_before (a clock fires by then), call_id, customer_id. A customer only ever sees "
        "their own tickets; a source system finds tickets by call_id."
    ),
)
async def list_tickets(
    filters: Annotated[TicketFilters, Query()], caller: AnyCaller, reads: ReadsDep
) -> list[TicketView] | list[CustomerTicketView]:
    if caller.role is Role.SYSTEM and filters.call_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="role system finds tickets by call_id only"
        )
    return views_for(caller, await reads.tickets(filters, caller))


@router.get(
    "/tickets/{ticket_id}/timeline",
    responses=NOT_FOUND,
    summary="A ticket's events in order (roles: agent, system; customer: own, what they were told)",
    description=(
        "The ticket's events, with what became of the notifications they caused merged in by "
        "time: items with `kind: delivery` (`NotificationSent`, `NotificationDelivered`, "
        "`NotificationFailed`). A customer sees the events meant for them and the "
        "notifications delivered to them."
    ),
)
async def ticket_timeline(
    ticket_id: TicketIdPath, caller: AnyCaller, reads: ReadsDep
) -> list[TimelineItem]:
    events = await reads.timeline(ticket_id, caller)
    if events is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"ticket {ticket_id} not found")
    return events
