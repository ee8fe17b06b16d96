"""Prometheus metrics: one registry per app, served at `/metrics`, and figures the store
counts and the consumers know at scrape time (never on the path of a message or a request)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.errors import KafkaError
from faststream.asgi import AsgiResponse, get
from faststream.asgi.handlers import GetHandler
from faststream.asgi.types import Scope
from faststream.kafka import KafkaBroker
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


class ScrapeGauge(Protocol):
    async def refresh(self) -> None: ...


class ScrapeCounts:
    """The store gauges of an app, refreshed together before each scrape; if the store does not
    answer in time the last values are served and `switchboard_store_counts_up` is 0."""

    def __init__(self, registry: CollectorRegistry, gauges: list[ScrapeGauge]) -> None:
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


# How long a scrape waits for a consumer's own position of a partition it was just given.
POSITION_WAIT_S = 0.2


class ConsumerLag:
    """Records on each partition a consumer of this app has not fetched yet, per group:
    the partition's highwater mark (from the consumer's last fetch response) less the
    consumer's position. Both are the consumer's own figures: no call to Kafka is made."""

    def __init__(self, registry: CollectorRegistry, broker: KafkaBroker) -> None:
        self._broker = broker
        self._gauge = Gauge(
            f"{PREFIX}_consumer_lag",
            "Records on a partition not yet fetched by this app's consumer (highwater - position)",
            ["group", "topic", "partition"],
            registry=registry,
        )

    async def refresh(self) -> None:
        lags = [
            ((group, tp.topic, str(tp.partition)), lag)
            for group, consumer in self._consumers()
            for tp in consumer.assignment()
            if (lag := await partition_lag(consumer, tp)) is not None
        ]
        self._gauge.clear()  # partitions handed to another instance drop out
        for labels, lag in lags:
            self._gauge.labels(*labels).set(lag)

    def _consumers(self) -> Iterator[tuple[str, Any]]:
        for subscriber in self._broker.subscribers:
            group = getattr(subscriber, "group_id", None)
            consumers = getattr(subscriber, "consumer_subgroup", None) or [
                getattr(subscriber, "consumer", None)
            ]
            for consumer in consumers:
                if group and consumer is not None:
                    yield group, consumer


async def partition_lag(consumer: Any, tp: Any) -> int | None:
    """highwater - position, or None while either is unknown (nothing fetched yet)."""
    highwater = consumer.highwater(tp)
    if highwater is None:
        return None
    try:
        position = await asyncio.wait_for(consumer.position(tp), POSITION_WAIT_S)
    except (TimeoutError, KafkaError):
        return None
    return max(0, int(highwater) - int(position))


def scrape_refresh(*gauges: ScrapeGauge) -> Callable[[], Awaitable[None]]:
    """One refresh before each scrape for all of an app's scrape-time figures."""

    async def refresh() -> None:
        for gauge in gauges:
            await gauge.refresh()

    return refresh


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
