"""Where infrastructure failures become HTTP answers: each one a 503 with Retry-After."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure

from services.intake.commands import KafkaOutcomeUnknown, KafkaUnavailable

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
