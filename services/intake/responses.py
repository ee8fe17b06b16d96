"""What routes answer: the documented errors they share, and 202 once a command is published.

Every error is a problem details body (RFC 9457), served as `application/problem+json`.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, status
from fastapi.types import DecoratedCallable

from services.intake.problems import MEDIA_TYPE, Problem, ValidationProblem
from services.intake.tickets.schemas import TransitionRefused

Responses = dict[int | str, dict[str, Any]]
RETRY_AFTER = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}


def problem(description: str, model: Any = Problem, **more: Any) -> dict[str, Any]:
    return {"model": model, "description": description, **more}


# Every /v1 route: who may call, how often, and what is wrong with what was sent.
EVERY_ROUTE: Responses = {
    401: problem("No API key, or an unknown one, in the X-API-Key header"),
    403: problem("The caller's role may not do this"),
    422: problem(
        "Invalid input: `errors` names each field (`loc`) and the rule it broke",
        ValidationProblem,
    ),
    429: problem("Too many requests with this API key: retry after", headers=RETRY_AFTER),
}
# Every route that takes a body.
WITH_BODY: Responses = {
    400: problem("The body is not JSON at all (malformed, or not UTF-8)"),
    413: problem("The body is larger than the limit (SWITCHBOARD_MAX_BODY_BYTES)"),
}
NOT_FOUND: Responses = {404: problem("No such ticket visible to the caller")}
UNAVAILABLE: Responses = {
    503: problem(
        "Kafka or the database unreachable: retry later with the same key", headers=RETRY_AFTER
    )
}
REFUSED: Responses = {
    409: problem(
        "The ticket's status does not allow this step; the body says what it allows",
        TransitionRefused,
    )
}
STEP: Responses = {**NOT_FOUND, **REFUSED}
DEVELOPMENT_STEP: Responses = {
    **NOT_FOUND,
    409: problem(
        "No such development ticket on this ticket, or a step it does not allow",
        TransitionRefused | Problem,
    ),
}
INCIDENT_NOT_FOUND: Responses = {404: problem("No such incident")}
INCIDENT_WRITE: Responses = {
    **INCIDENT_NOT_FOUND,
    409: problem("The incident is already resolved"),
}
OPENING: Responses = {409: problem("Idempotency-Key reused for another request")}
DECLARATION: Responses = {409: problem("Idempotency-Key reused for another declaration")}


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
        responses={**responses, **WITH_BODY, **UNAVAILABLE},
        summary=summary,
        description=description,
    )


PROBLEM_PATHS = ("/v1/", "/console/")


def with_problem_media_type(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every /v1 and /console error answer served as
    application/problem+json."""
    for path, operations in document.get("paths", {}).items():
        if not path.startswith(PROBLEM_PATHS):
            continue
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[0] in "45" and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
    return document
