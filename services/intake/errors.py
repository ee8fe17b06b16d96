"""Where failures become HTTP answers: infrastructure → 503 with Retry-After, conflicts → 409."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure

from services.intake.commands import KafkaOutcomeUnknown, KafkaUnavailable
from services.intake.issuing import IdempotencyKeyReused
from services.intake.preconditions import NoSuchDevelopmentTicket, statuses_an_agent_may_set
from services.intake.schemas import Problem, TransitionRefused
from shared.lifecycle import IllegalTransition

Handler = Callable[[Request, Exception], Awaitable[Response]]

UNAVAILABLE: dict[type[Exception], str] = {
    KafkaUnavailable: "the ticket system cannot accept requests right now; nothing was stored",
    ConnectionFailure: "the ticket database cannot be reached right now; nothing was stored",
    KafkaOutcomeUnknown: (
        "the request was not confirmed in time and may still be applied; "
        "retry with the same Idempotency-Key, which is always safe"
    ),
}


def register_unavailable_handlers(app: FastAPI, retry_after_s: int) -> None:
    for error_type, detail in UNAVAILABLE.items():
        app.add_exception_handler(error_type, _answer(detail, retry_after_s))


def _answer(detail: str, retry_after_s: int) -> Handler:
    async def handler(_request: Request, _error: Exception) -> Response:
        return JSONResponse(
            {"detail": detail},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after_s)},
        )

    return handler


CONFLICTS: tuple[type[Exception], ...] = (
    IllegalTransition,
    NoSuchDevelopmentTicket,
    IdempotencyKeyReused,
)


def register_conflict_handlers(app: FastAPI) -> None:
    for error_type in CONFLICTS:
        app.add_exception_handler(error_type, _conflict)


async def _conflict(_request: Request, error: Exception) -> Response:
    body = (
        _transition_refused(error)
        if isinstance(error, IllegalTransition)
        else Problem(detail=str(error))
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_409_CONFLICT)


def _transition_refused(error: IllegalTransition) -> TransitionRefused:
    return TransitionRefused(
        detail=str(error),
        status=error.status,
        allowed_steps=error.allowed,
        allowed_statuses=statuses_an_agent_may_set(error.status),
    )
