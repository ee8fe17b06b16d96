"""HTTP metrics of intake: requests by method, route template and status, with latency.

A plain ASGI middleware, outermost, so a request refused at the edge (rate limit, body
size) is counted too. The route is the template the request matched (`/v1/tickets/{ticket_id}`),
never the raw path, so a label cannot take one value per ticket; a request no route took is
counted under `unmatched`.
"""

import time
from collections.abc import Callable, Sequence

from fastapi import APIRouter, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as exposition
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import PREFIX

UNMATCHED = "unmatched"
# Any other method a client sends is counted as `other`: a label must not take any value.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: intake answers in milliseconds; a publish waits on Kafka up to its timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    def __init__(
        self,
        app: ASGIApp,
        registry: CollectorRegistry,
        routes: Callable[[], Sequence[BaseRoute]],
    ) -> None:
        self.app = app
        self._routes = routes
        self._templates: dict[int, str] | None = None
        self._series: dict[tuple[str, int, int], tuple[Counter, Histogram]] = {}
        self.requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: the app raised before it did

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            self._observe(method, scope.get("route"), status, started)

    def _observe(self, method: str, route: BaseRoute | None, status: int, started: float) -> None:
        key = (method, id(route), status)
        series = self._series.get(key)
        if series is None:  # once per method, route and status: `labels()` takes a lock
            template = self._template(route)
            series = self._series[key] = (
                self.requests.labels(method, template, str(status)),
                self.duration.labels(method, template),
            )
        requests, duration = series
        requests.inc()
        duration.observe(time.perf_counter() - started)

    def _template(self, route: BaseRoute | None) -> str:
        """The full path template of the route the router put into the scope (this one)."""
        if route is None:
            return UNMATCHED
        if self._templates is None:  # the routes are all there by the first request
            self._templates = {
                id(c.original_route): c.path_format or UNMATCHED
                for c in iter_route_contexts(self._routes())
            }
        # An included router's route knows only its own part of the path (`/tickets`).
        return self._templates.get(id(route)) or str(getattr(route, "path", UNMATCHED))


def build_metrics_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return router
