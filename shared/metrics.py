"""Prometheus metrics: one registry per app, served at `/metrics`, and figures the store
counts at scrape time (never on the path of a message or a request)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from faststream.asgi import AsgiResponse, get
from faststream.asgi.handlers import GetHandler
from faststream.asgi.types import Scope
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client import generate_latest as exposition
from pymongo.errors import PyMongoError

from shared.mongo import Collection, Document

log = logging.getLogger("switchboard.metrics")

PREFIX = "switchboard"
SCRAPE_QUERY_TIMEOUT_S = 2.0


def messaging_middleware(registry: CollectorRegistry, app_name: str) -> KafkaPrometheusMiddleware:
    """FastStream's own metrics of messages consumed and published, by topic."""
    return KafkaPrometheusMiddleware(registry=registry, app_name=app_name)


def dead_letters_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        f"{PREFIX}_dead_letters",
        "Messages sent to the dead-letter topic, by the topic they came from",
        ["source_topic"],
        registry=registry,
    )


@dataclass(frozen=True)
class StoreCount:
    """One gauge sample counted in the store: a filter that an index answers."""

    collection: Collection
    query: Document
    labels: Mapping[str, str]


class StoreGauge:
    """A gauge whose samples are counted in the store when /metrics is scraped."""

    def __init__(
        self, registry: CollectorRegistry, name: str, documentation: str, counts: list[StoreCount]
    ) -> None:
        label_names = sorted({name for count in counts for name in count.labels})
        self._gauge = Gauge(f"{PREFIX}_{name}", documentation, label_names, registry=registry)
        self._counts = counts

    async def refresh(self) -> None:
        values = await asyncio.gather(
            *(c.collection.count_documents(c.query) for c in self._counts)
        )
        for count, value in zip(self._counts, values, strict=True):
            gauge = self._gauge.labels(**count.labels) if count.labels else self._gauge
            gauge.set(value)


class ScrapeCounts:
    """The store gauges of an app, refreshed together before each scrape; if the store does not
    answer in time the last values are served and `switchboard_store_counts_up` is 0."""

    def __init__(self, registry: CollectorRegistry, gauges: list[StoreGauge]) -> None:
        self._gauges = gauges
        self._up = Gauge(
            f"{PREFIX}_store_counts_up",
            "1 if the store answered the counts of the last scrape in time, else 0",
            registry=registry,
        )

    async def refresh(self) -> None:
        try:
            await asyncio.wait_for(
                asyncio.gather(*(g.refresh() for g in self._gauges)), SCRAPE_QUERY_TIMEOUT_S
            )
        except (PyMongoError, TimeoutError):
            log.warning("store counts for /metrics failed; serving the last ones", exc_info=True)
            self._up.set(0)
        else:
            self._up.set(1)


def metrics_route(
    registry: CollectorRegistry, refresh: Callable[[], Awaitable[None]] | None = None
) -> tuple[str, GetHandler]:
    """`/metrics` in the Prometheus text format, for the FastStream apps."""

    @get(description="Prometheus metrics", include_in_schema=False)
    async def metrics(_scope: Scope) -> AsgiResponse:
        if refresh is not None:
            await refresh()
        return AsgiResponse(
            exposition(registry), 200, headers={"content-type": CONTENT_TYPE_LATEST}
        )

    return ("/metrics", metrics)
