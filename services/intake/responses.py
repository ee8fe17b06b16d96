"""What routes answer: the documented errors they share, and 202 once a command is published."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, status
from fastapi.types import DecoratedCallable

from services.intake.errors import Problem
from services.intake.tickets.schemas import TransitionRefused

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {
    404: {"model": Problem, "description": "No such ticket visible to the caller"}
}
UNAVAILABLE: Responses = {
    503: {
        "model": Problem,
        "description": "Kafka or the database unreachable: retry later with the same key",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    }
}
REFUSED: Responses = {
    409: {
        "model": TransitionRefused,
        "description": "The ticket's status does not allow this step; the body says what it allows",
    }
}
STEP: Responses = {**NOT_FOUND, **REFUSED}
DEVELOPMENT_STEP: Responses = {
    **NOT_FOUND,
    409: {
        "model": TransitionRefused | Problem,
        "description": "No such development ticket on this ticket, or a step it does not allow",
    },
}
INCIDENT_NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such incident"}}
INCIDENT_WRITE: Responses = {
    **INCIDENT_NOT_FOUND,
    409: {"model": Problem, "description": "The incident is already resolved"},
}
OPENING: Responses = {
    409: {"model": Problem, "description": "Idempotency-Key reused for another request"}
}
DECLARATION: Responses = {
    409: {"model": Problem, "description": "Idempotency-Key reused for another declaration"}
}


def command_route(
    router: APIRouter,
    path: str,
    *,
    summary: str,
    responses: Responses,
    description: str | None = None,
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST that publishes one command: 202 once Kafka acknowledged it, 503 if it could not."""
    return router.post(
        path,
        status_code=status.HTTP_202_ACCEPTED,
        responses={**responses, **UNAVAILABLE},
        summary=summary,
        description=description,
    )
