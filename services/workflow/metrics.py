"""The workflow's own metrics: events published by type, and store counts at scrape time."""

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.workflow.store import OPEN_STATUSES
from shared.incidents import IncidentStatus
from shared.metrics import PREFIX, ScrapeCounts, ScrapeGauge, StoreCount, StoreGauge
from shared.mongo import Collection, Collections, Database
from shared.vocabulary import Priority

# "Any pending event id" as a range on the multikey `outbox_pending` index, as the relay asks.
OUTBOX_PENDING = {"outbox_pending": {"$gt": ""}}


def events_published_counter(registry: CollectorRegistry) -> Counter:
    """Ticket and incident events published by the outbox, by type: tickets opened
    (`TicketOpened`), escalations (`TicketEscalated`), SLA breaches (`SlaBreached`)…"""
    return Counter(
        f"{PREFIX}_events_published",
        "Ticket and incident events published, by event type",
        ["type"],
        registry=registry,
    )


class OpenTickets:
    """Open tickets by status and priority: one `$group` over the open statuses, a range of
    the (status, created_at) index, when /metrics is scraped. It reads the open tickets (not
    the closed ones, which are most of a grown collection); nothing is added to the path of a
    command. Every status and priority is served, 0 when none is open."""

    def __init__(self, registry: CollectorRegistry, tickets: Collection) -> None:
        self._tickets = tickets
        self._gauge = Gauge(
            f"{PREFIX}_tickets_open",
            "Open tickets by status and priority (the (status, created_at) index)",
            ["status", "priority"],
            registry=registry,
        )

    async def refresh(self) -> None:
        counted = {(status, priority.value): 0 for status in OPEN_STATUSES for priority in Priority}
        cursor = await self._tickets.aggregate(
            [
                {"$match": {"status": {"$in": OPEN_STATUSES}}},
                {
                    "$group": {
                        "_id": {"status": "$status", "priority": "$priority"},
                        "n": {"$sum": 1},
                    }
                },
            ]
        )
        async for group in cursor:
            key = (group["_id"].get("status"), group["_id"].get("priority") or "none")
            counted[key] = counted.get(key, 0) + group["n"]
        for (status, priority), count in counted.items():
            self._gauge.labels(status, priority).set(count)


def store_counts(registry: CollectorRegistry, database: Database) -> ScrapeCounts:
    """Open tickets by status and priority, open incidents and documents with events not yet
    published, each on an index (see `shared.mongo.ensure_indexes`)."""
    tickets, incidents = database[Collections.TICKETS], database[Collections.INCIDENTS]
    gauges: list[ScrapeGauge] = [
        OpenTickets(registry, tickets),
        StoreGauge(
            registry,
            "incidents_open",
            "Incidents open (the (status, declared_at) index)",
            [StoreCount(incidents, {"status": IncidentStatus.OPEN.value}, {})],
        ),
        StoreGauge(
            registry,
            "outbox_pending_documents",
            "Tickets and incidents with events saved but not yet published (outbox_pending)",
            [
                StoreCount(tickets, OUTBOX_PENDING, {"aggregate": "ticket"}),
                StoreCount(incidents, OUTBOX_PENDING, {"aggregate": "incident"}),
            ],
        ),
    ]
    return ScrapeCounts(registry, gauges)
