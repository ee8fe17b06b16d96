"""What a customer does to their own ticket: comment, confirm the resolution, or reopen it.

Another customer's ticket is not found (404), so ticket ids reveal nothing.
"""

from fastapi import APIRouter, Response

from services.intake.dependencies import CustomerIssuer, ReadsDep, VisibleTicket
from services.intake.preconditions import require_not_closed, require_step
from services.intake.responses import STEP, command_route
from services.intake.tickets.bodies import CommentRequest, ConfirmationRequest, ReopenRequest
from services.intake.tickets.documents import TicketRecord, follow_up_details
from services.intake.tickets.issuing import Issuer
from services.intake.tickets.queries import Reads
from services.intake.tickets.schemas import CommandAccepted, ReopenAccepted
from shared.events import AddCustomerComment, ConfirmResolution, ReportNotFixed
from shared.lifecycle import Step
from shared.vocabulary import TicketStatus, ticket_id_for_request

router = APIRouter(tags=["customers"])
NO_CONFIRMATION_COMMENT = ConfirmationRequest()
NO_REOPEN_COMMENT = ReopenRequest()


@command_route(
    router,
    "/tickets/{ticket_id}/comments",
    responses=STEP,
    summary="Write to support about the ticket (role: customer, own tickets)",
    description="If support was waiting on the customer, work resumes.",
)
async def add_comment(
    issuer: CustomerIssuer, ticket: VisibleTicket, body: CommentRequest
) -> CommandAccepted:
    require_not_closed(ticket, "comment")
    return await issuer.send(AddCustomerComment, ticket.ticket_id, message=body.message)


@command_route(
    router,
    "/tickets/{ticket_id}/confirmation",
    responses=STEP,
    summary="Confirm the problem is solved (role: customer, own tickets)",
)
async def confirm_resolution(
    issuer: CustomerIssuer,
    ticket: VisibleTicket,
    body: ConfirmationRequest = NO_CONFIRMATION_COMMENT,
) -> CommandAccepted:
    require_step(ticket, Step.CONFIRM_RESOLUTION)
    return await issuer.send(ConfirmResolution, ticket.ticket_id, comment=body.comment)


@command_route(
    router,
    "/tickets/{ticket_id}/reopen",
    responses=STEP,
    summary="Report the problem is not fixed (role: customer, own tickets)",
    description=(
        "While awaiting confirmation or resolved, the ticket is reopened. A closed ticket stays "
        "closed: a new follow-up ticket is opened instead, and answered as `ticket_id` with "
        "`follow_up_of` naming the closed one."
    ),
)
async def reopen(
    issuer: CustomerIssuer,
    ticket: VisibleTicket,
    reads: ReadsDep,
    response: Response,
    body: ReopenRequest = NO_REOPEN_COMMENT,
) -> ReopenAccepted:
    if ticket.status is TicketStatus.CLOSED:
        accepted = await _open_follow_up(issuer, reads, ticket, body.comment)
        response.headers["Location"] = accepted.url
        return accepted
    require_step(ticket, Step.REOPEN)
    sent = await issuer.send(ReportNotFixed, ticket.ticket_id, comment=body.comment)
    return ReopenAccepted(**sent.model_dump())


async def _open_follow_up(
    issuer: Issuer, reads: Reads, closed: TicketRecord, comment: str
) -> ReopenAccepted:
    # Named by this request's command id: a retry with the same key opens the same follow-up.
    ticket_id = ticket_id_for_request(issuer.caller.name, issuer.command_id)
    accepted = await issuer.open_ticket(
        reads,
        ticket_id,
        follow_up_details(closed, comment),
        follow_up_of=closed.ticket_id,
        reason=f"the customer reports that the problem of {closed.ticket_id} is back",
    )
    return ReopenAccepted(**accepted.model_dump(), follow_up_of=closed.ticket_id)
