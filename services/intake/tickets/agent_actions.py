"""What agents (and a development tracker integration) do to a ticket: each a command on Kafka.

Every route answers 202 once Kafka acknowledged the command; the role is checked before the
ticket is looked up, and a step the ticket's status does not allow is refused with 409.
"""

from fastapi import APIRouter

from services.intake.dependencies import AgentIssuer, AgentOrSystemIssuer, VisibleTicket
from services.intake.preconditions import (
    require_development_progress,
    require_not_closed,
    require_status_reachable,
    require_step,
)
from services.intake.responses import DEVELOPMENT_STEP, NOT_FOUND, STEP, command_route
from services.intake.tickets.bodies import (
    AssignmentRequest,
    CallIdsRequest,
    DevelopmentProgressRequest,
    DevelopmentRequest,
    InternalNoteRequest,
    PublicUpdateRequest,
    StatusRequest,
)
from services.intake.tickets.schemas import CommandAccepted
from shared.events import (
    AddCallIds,
    AddInternalNote,
    AssignTicket,
    ChangeStatus,
    PostPublicUpdate,
    RecordDevelopmentProgress,
    RequestDevelopment,
)
from shared.lifecycle import Step

router = APIRouter(tags=["agents"])


@command_route(
    router,
    "/tickets/{ticket_id}/assignment",
    responses=STEP,
    summary="Hand the ticket to another team and/or involve more teams (role: agent)",
)
async def assign_ticket(
    issuer: AgentIssuer, ticket: VisibleTicket, body: AssignmentRequest
) -> CommandAccepted:
    require_not_closed(ticket, "assign the ticket")
    return await issuer.send(
        AssignTicket,
        ticket.ticket_id,
        team=body.team,
        add_teams=body.add_teams,
        reason=body.reason,
    )


@command_route(
    router,
    "/tickets/{ticket_id}/status",
    responses=STEP,
    summary="Move the ticket to another status (role: agent)",
    description="The 409 answer lists the steps and the statuses the ticket allows from here.",
)
async def change_status(
    issuer: AgentIssuer, ticket: VisibleTicket, body: StatusRequest
) -> CommandAccepted:
    require_status_reachable(ticket, body.status)
    return await issuer.send(ChangeStatus, ticket.ticket_id, status=body.status, reason=body.reason)


@command_route(
    router,
    "/tickets/{ticket_id}/updates",
    responses=STEP,
    summary="Post an update that is sent to the customer (role: agent)",
)
async def post_public_update(
    issuer: AgentIssuer, ticket: VisibleTicket, body: PublicUpdateRequest
) -> CommandAccepted:
    require_not_closed(ticket, "post an update")
    return await issuer.send(PostPublicUpdate, ticket.ticket_id, message=body.message)


@command_route(
    router,
    "/tickets/{ticket_id}/notes",
    responses=NOT_FOUND,
    summary="Add an internal note, never sent to the customer (role: agent)",
)
async def add_internal_note(
    issuer: AgentIssuer, ticket: VisibleTicket, body: InternalNoteRequest
) -> CommandAccepted:
    return await issuer.send(AddInternalNote, ticket.ticket_id, text=body.text)


@command_route(
    router,
    "/tickets/{ticket_id}/call-ids",
    responses=NOT_FOUND,
    summary="Add the call IDs of more problem calls (roles: agent, system)",
)
async def add_call_ids(
    issuer: AgentOrSystemIssuer, ticket: VisibleTicket, body: CallIdsRequest
) -> CommandAccepted:
    return await issuer.send(
        AddCallIds, ticket.ticket_id, call_ids=body.call_ids, reason=body.reason
    )


@command_route(
    router,
    "/tickets/{ticket_id}/development",
    responses=STEP,
    summary="A code change is needed: open a linked development ticket (role: agent)",
)
async def request_development(
    issuer: AgentIssuer, ticket: VisibleTicket, body: DevelopmentRequest
) -> CommandAccepted:
    require_step(ticket, Step.OPEN_DEVELOPMENT)
    return await issuer.send(
        RequestDevelopment, ticket.ticket_id, summary=body.summary, reason=body.reason
    )


@command_route(
    router,
    "/tickets/{ticket_id}/development/progress",
    responses=DEVELOPMENT_STEP,
    summary="Report the development ticket's progress (roles: agent, system)",
    description=(
        "For a development tracker integration: fix in progress, testing, deployed. A deployed "
        "fix goes to the customer for confirmation. 409 if the ticket has no such development "
        "ticket or its status does not allow the step; a repeated report is accepted."
    ),
)
async def record_development_progress(
    issuer: AgentOrSystemIssuer,
    ticket: VisibleTicket,
    body: DevelopmentProgressRequest,
) -> CommandAccepted:
    require_development_progress(ticket, body.development_ticket_id, body.status)
    return await issuer.send(
        RecordDevelopmentProgress,
        ticket.ticket_id,
        development_ticket_id=body.development_ticket_id,
        status=body.status,
        reason=body.reason,
    )
