"""The workflow's own metrics: events published by type, and store counts at scrape time."""

from prometheus_client import CollectorRegistry, Counter

from services.workflow.store import OPEN_STATUSES
from shared.incidents import IncidentStatus
from shared.metrics import PREFIX, ScrapeCounts, StoreCount, StoreGauge
from shared.mongo import Collections, Database

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


def store_counts(registry: CollectorRegistry, database: Database) -> ScrapeCounts:
    """Open tickets by status, open incidents and documents with events not yet published,
    each one count on an index (see `shared.mongo.ensure_indexes`)."""
    tickets, incidents = database[Collections.TICKETS], database[Collections.INCIDENTS]
    gauges = [
        StoreGauge(
            registry,
            "tickets_open",
            "Open tickets by status (the (status, created_at) index)",
            [StoreCount(tickets, {"status": s}, {"status": s}) for s in OPEN_STATUSES],
        ),
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
