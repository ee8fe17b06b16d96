"""Where failures become HTTP answers: outages 503 (Retry-After), conflicts 409, bad input 422."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pymongo.errors import ConnectionFailure

from services.intake.commands import KafkaOutcomeUnknown, KafkaUnavailable
from services.intake.customers.directory import DirectoryChanged
from services.intake.preconditions import (
    IncidentAlreadyResolved,
    NoSuchDevelopmentTicket,
    statuses_an_agent_may_set,
)
from services.intake.tickets.issuing import IdempotencyKeyReused
from services.intake.tickets.schemas import TransitionRefused
from shared.lifecycle import IllegalTransition


class Problem(BaseModel):
    detail: str


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
    DirectoryChanged,
    IncidentAlreadyResolved,
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


REDACTED = "<redacted>"


def invalid_body(error: ValidationError) -> RequestValidationError:
    """A body that broke a rule checked after parsing: the same 422 as a parse error."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
    )


def register_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)


async def _invalid_request(request: Request, error: Exception) -> Response:
    # A 422 echoes each offending input; a webhook secret must not travel back with it.
    if not isinstance(error, RequestValidationError):
        raise TypeError(f"expected a RequestValidationError, got {error!r}")
    errors = [_redacted(e) for e in error.errors()]
    return await request_validation_exception_handler(
        request, RequestValidationError(errors, body=error.body)
    )


def _redacted(error: dict[str, Any]) -> dict[str, Any]:
    if "input" not in error:
        return error
    is_secret = list(error.get("loc", ()))[-1:] == ["secret"]
    return {**error, "input": REDACTED if is_secret else _without_secrets(error["input"])}


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k == "secret" else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value
