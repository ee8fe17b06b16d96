"""Following a customer's in-app notifications live, as server-sent events.

The embedded store has no change streams, so the route polls for notifications after the
last one sent, in (created_at, id) order; the SSE event id is the notification id, so an
EventSource that reconnects with `Last-Event-ID` resumes where it stopped.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.intake.auth import Caller, require
from services.intake.dependencies import ReadsDep
from services.intake.problems import Problem
from services.intake.tickets.queries import FeedPosition, Reads
from shared.vocabulary import CustomerId, Role

POLL_S = 0.5
BATCH = 100
PING_S = 15  # keeps proxies from closing a quiet stream

router = APIRouter(tags=["customers"])
Follower = Annotated[Caller, require(Role.AGENT, Role.CUSTOMER)]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=200,
        description="The id of the last event received: the stream resumes after it.",
    ),
]


@router.get(
    "/customers/{customer_id}/notifications/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": (
                "One event per in-app notification: `id` the notification id, `event` what it "
                "is about (the ticket event type), `data` the notification as JSON"
            ),
        },
        404: {"model": Problem, "description": "No such customer visible to the caller"},
    },
    summary="Follow a customer's in-app notifications live (role: agent; customer: own)",
)
async def follow_notifications(
    customer_id: Annotated[CustomerId, Path()],
    caller: Follower,
    reads: ReadsDep,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    if not caller.may_see(customer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")
    position = await reads.in_app_position(customer_id, last_event_id)
    return EventSourceResponse(_notifications(reads, customer_id, position), ping=PING_S)


async def _notifications(
    reads: Reads, customer_id: str, position: FeedPosition | None
) -> AsyncIterator[ServerSentEvent]:
    """Runs until the client disconnects; sse-starlette then cancels it."""
    while True:
        batch = await reads.in_app_notifications_after(customer_id, position, BATCH)
        for view in batch:
            yield ServerSentEvent(
                data=view.model_dump_json(), id=view.notification_id, event=view.event_type
            )
            position = (view.created_at, view.notification_id)
        if len(batch) < BATCH:
            await asyncio.sleep(POLL_S)
