"""The notifier's own metrics: delivery attempts and notifications settled, by channel and
outcome, and the delivery backlog and the broadcasts' progress read at scrape time."""

from collections import Counter as Tally
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.incidents import IncidentStatus
from shared.metrics import PREFIX, ScrapeCounts, ScrapeGauge, StoreCount, StoreGauge
from shared.mongo import Collections, Database
from shared.vocabulary import DeliveryStatus


class DeliveryCounters:
    """Each attempt's outcome (`delivered`, `retrying`, `failed`) and each notification's final
    one (`delivered`, `failed`; in-app ones are delivered by being stored), by channel."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            f"{PREFIX}_delivery_attempts",
            "Delivery attempts by channel and outcome (delivered, retrying, failed)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.notifications = Counter(
            f"{PREFIX}_notifications",
            "Notifications settled by channel and final outcome (delivered, failed)",
            ["channel", "outcome"],
            registry=registry,
        )

    def attempted(self, channel: str, delivered: bool, gave_up: bool) -> None:
        outcome = "delivered" if delivered else "failed" if gave_up else "retrying"
        self.attempts.labels(channel, outcome).inc()
        if delivered or gave_up:
            self.notifications.labels(channel, outcome).inc()

    def delivered_by_storing(self, channel: str, count: int) -> None:
        if count:
            self.notifications.labels(channel, "delivered").inc(count)


# A resolved incident's broadcasts stay on the gauges while it was declared this recently.
RESOLVED_SHOWN = timedelta(days=1)
BROADCAST_STATES = ("planned", "notified", "delivered", "failed", "pending")


class BroadcastProgress:
    """Each broadcast (incident event) of the incidents open, or resolved and declared within
    `RESOLVED_SHOWN`: customers affected, and notifications planned, stored (`notified`),
    delivered, failed and pending. Read at scrape time from the plan and chunk records the
    broadcast keeps (`_id`-keyed, a few hundred per incident, found by their `incident_id`
    index) and the incidents' (status, declared_at) index; never from the notifications."""

    def __init__(
        self, registry: CollectorRegistry, database: Database, clock: Callable[[], datetime]
    ) -> None:
        self._incidents = database[Collections.INCIDENTS]
        self._plans = database[Collections.BROADCASTS]
        self._chunks = database[Collections.BROADCAST_CHUNKS]
        self._clock = clock
        labels = ["incident_id", "event_type"]
        self._customers = Gauge(
            f"{PREFIX}_broadcast_customers",
            "Customers an incident event's broadcast reaches",
            labels,
            registry=registry,
        )
        self._notifications = Gauge(
            f"{PREFIX}_broadcast_notifications",
            "An incident event's broadcast notifications: planned, notified (stored), "
            "delivered, failed, pending",
            [*labels, "state"],
            registry=registry,
        )

    async def refresh(self) -> None:
        incident_ids = await self._shown_incidents()
        plans = [p async for p in self._plans.find({"incident_id": {"$in": incident_ids}})]
        counts: Tally[tuple[str, str]] = Tally()
        chunks = self._chunks.find(
            {"incident_id": {"$in": incident_ids}}, {"event_id": 1, "counts": 1}
        )
        async for chunk in chunks:
            for status, count in (chunk.get("counts") or {}).items():
                counts[chunk["event_id"], status] += count
                counts[chunk["event_id"], "notified"] += count
        self._customers.clear()
        self._notifications.clear()
        for plan in plans:
            labels = (plan["incident_id"], plan["event_type"])
            self._customers.labels(*labels).set(plan.get("affected_customers", 0))
            planned = {"planned": plan.get("recipients", 0)}
            for state in BROADCAST_STATES:
                value = planned.get(state, counts[plan["_id"], state])
                self._notifications.labels(*labels, state).set(value)

    async def _shown_incidents(self) -> list[str]:
        since = self._clock() - RESOLVED_SHOWN
        ranges = [  # each a range of the (status, declared_at) index
            {"status": IncidentStatus.OPEN.value},
            {"status": IncidentStatus.RESOLVED.value, "declared_at": {"$gte": since}},
        ]
        return [d["_id"] for query in ranges async for d in self._incidents.find(query, {"_id": 1})]


def store_counts(
    registry: CollectorRegistry, database: Database, clock: Callable[[], datetime]
) -> ScrapeCounts:
    """Notifications waiting for delivery, and those of them already tried (the retry
    backlog): counts on the (status, next_attempt_at) and (status, attempts, next_attempt_at)
    indexes; and the broadcasts' progress."""
    notifications = database[Collections.NOTIFICATIONS]
    pending = DeliveryStatus.PENDING.value
    gauges: list[ScrapeGauge] = [
        StoreGauge(
            registry,
            "notifications_pending",
            "Notifications waiting for delivery (new or to retry)",
            [StoreCount(notifications, {"status": pending}, {})],
        ),
        StoreGauge(
            registry,
            "notifications_retry_backlog",
            "Notifications waiting for delivery that were tried before",
            [StoreCount(notifications, {"status": pending, "attempts": {"$gte": 1}}, {})],
        ),
        BroadcastProgress(registry, database, clock),
    ]
    return ScrapeCounts(registry, gauges)
