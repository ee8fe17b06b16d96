"""The documented error answers routes share."""

from typing import Any

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
WRITE: Responses = {**NOT_FOUND, **UNAVAILABLE}
STEP: Responses = {**WRITE, **REFUSED}
DEVELOPMENT_STEP: Responses = {
    **WRITE,
    409: {
        "model": TransitionRefused | Problem,
        "description": "No such development ticket on this ticket, or a step it does not allow",
    },
}
INCIDENT_NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such incident"}}
INCIDENT_WRITE: Responses = {
    **INCIDENT_NOT_FOUND,
    **UNAVAILABLE,
    409: {"model": Problem, "description": "The incident is already resolved"},
}
DECLARATION: Responses = {
    409: {"model": Problem, "description": "Idempotency-Key reused for another declaration"},
    **UNAVAILABLE,
}
