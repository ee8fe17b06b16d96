"""A server span for every HTTP request to intake, installed only when tracing is on.

The span continues a caller's W3C `traceparent` if it sends one; the commands the request
publishes carry the span's context on to the workflow in their Kafka headers. It is named by
the route template the request matched (`POST /v1/tickets/{ticket_id}`), never the raw path.
"""

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.tracing import Tracing

SERVER_ERROR = 500


class RequestSpans:
    def __init__(
        self, app: ASGIApp, tracing: Tracing, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self._tracing = tracing
        self._routes = routes
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        with self._tracing.span(
            method,
            parent=_traceparent(scope),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            status = SERVER_ERROR  # unless an answer starts: the app raised before it did

            async def noting_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, noting_status)
            finally:
                _describe(span, method, self._template(scope.get("route")), status)

    def _template(self, route: BaseRoute | None) -> str | None:
        """The full path template of the route the router put into the scope."""
        if route is None:
            return None
        if self._templates is None:  # the routes are all there by the first request
            self._templates = {
                id(c.original_route): c.path_format
                for c in iter_route_contexts(self._routes())
                if c.path_format
            }
        # An included router's route knows only its own part of the path.
        return self._templates.get(id(route)) or getattr(route, "path", None)


def _traceparent(scope: Scope) -> dict[str, Any]:
    for name, value in scope["headers"]:
        if name == b"traceparent":
            return {"traceparent": value.decode("latin-1")}
    return {}


def _describe(span: Span, method: str, route: str | None, status: int) -> None:
    if route is not None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= SERVER_ERROR:
        span.set_status(Status(StatusCode.ERROR))
