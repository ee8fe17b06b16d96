"""Where failures become HTTP answers, all as problem details: outages 503 (Retry-After),
conflicts 409, bad input 422 (400 when the body is not JSON at all), and the HTTP errors of
routing and authentication (401, 403, 404, 405, 413)."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from services.intake.commands import KafkaOutcomeUnknown, KafkaUnavailable
from services.intake.customers.directory import DirectoryChanged
from services.intake.preconditions import (
    IncidentAlreadyResolved,
    NoSuchDevelopmentTicket,
    statuses_an_agent_may_set,
)
from services.intake.problems import excerpt, field_problems, problem_response
from services.intake.tickets.issuing import IdempotencyKeyReused
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
CONFLICTS: tuple[type[Exception], ...] = (
    IllegalTransition,
    NoSuchDevelopmentTicket,
    IdempotencyKeyReused,
    DirectoryChanged,
    IncidentAlreadyResolved,
)
# FastAPI's words for a body it could not decode (not UTF-8, nested too deep): said plainly.
UNREADABLE_BODY = "There was an error parsing the body"
NAMED_IN_DETAIL = 5  # invalid fields a 422's detail names; `errors` lists them all


def register_error_handlers(app: FastAPI, retry_after_s: int) -> None:
    for error_type, detail in UNAVAILABLE.items():
        app.add_exception_handler(error_type, _unavailable(detail, retry_after_s))
    for error_type in CONFLICTS:
        app.add_exception_handler(error_type, _conflict)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


def _unavailable(detail: str, retry_after_s: int) -> Handler:
    async def handler(_request: Request, _error: Exception) -> Response:
        return problem_response(503, detail, {"Retry-After": str(retry_after_s)})

    return handler


async def _conflict(_request: Request, error: Exception) -> Response:
    if not isinstance(error, IllegalTransition):
        return problem_response(status.HTTP_409_CONFLICT, str(error))
    return problem_response(
        status.HTTP_409_CONFLICT,
        str(error),
        ticket_status=error.status.value,
        allowed_steps=[step.value for step in error.allowed],
        allowed_statuses=[target.value for target in statuses_an_agent_may_set(error.status)],
    )


async def _invalid_request(_request: Request, error: Exception) -> Response:
    if not isinstance(error, RequestValidationError):
        raise TypeError(f"expected a RequestValidationError, got {error!r}")
    errors = list(error.errors())
    unparsable = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if unparsable is not None:
        reason = (unparsable.get("ctx") or {}).get("error", "JSON decode error")
        position = unparsable["loc"][-1]
        return problem_response(400, f"the body is not JSON: {reason} at position {position}")
    problems = field_problems(errors)
    named = ", ".join(".".join(str(part) for part in p.loc) for p in problems[:NAMED_IN_DETAIL])
    more = f" and {len(errors) - NAMED_IN_DETAIL} more" if len(errors) > NAMED_IN_DETAIL else ""
    return problem_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"{len(errors)} invalid field(s): {named}{more}",
        errors=[p.model_dump() for p in problems],
    )


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):
        raise TypeError(f"expected an HTTPException, got {error!r}")
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        return _method_not_served(request)
    detail = str(error.detail)
    if error.status_code == status.HTTP_400_BAD_REQUEST and detail == UNREADABLE_BODY:
        detail = "the body is not JSON: it could not be decoded as UTF-8 JSON text"
    elif error.status_code == status.HTTP_404_NOT_FOUND and detail == "Not Found":
        detail = f"nothing is at {excerpt(request.url.path)}"
    return problem_response(error.status_code, detail, error.headers)


def _method_not_served(request: Request) -> Response:
    """OPTIONS is answered with every method the path serves; any other method is a 405."""
    allow = ", ".join([*_methods_served(request), "OPTIONS"])
    if request.method == "OPTIONS":
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Allow": allow})
    detail = f"{excerpt(request.method)} is not served here; this path serves {allow}"
    return problem_response(status.HTTP_405_METHOD_NOT_ALLOWED, detail, {"Allow": allow})


def _methods_served(request: Request) -> list[str]:
    """Every method of every route whose path template matches the request's path."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.path and route.methods:
            pattern, _, _ = compile_path(route.path)
            if pattern.match(request.url.path):
                methods |= route.methods
    return sorted(methods)


async def _internal_error(_request: Request, _error: Exception) -> Response:
    # Starlette raises the error again once this is sent, so the server logs it.
    return problem_response(500, "the request failed inside intake; it has been logged")


def invalid_body(error: ValidationError) -> RequestValidationError:
    """A body that broke a rule checked after parsing: the same 422 as a parse error."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
    )
