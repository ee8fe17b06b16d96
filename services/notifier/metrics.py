"""The notifier's own metrics: delivery attempts and notifications settled, by channel and
outcome, and the delivery backlog counted at scrape time."""

from prometheus_client import CollectorRegistry, Counter

from shared.metrics import PREFIX, ScrapeCounts, StoreCount, StoreGauge
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


def store_counts(registry: CollectorRegistry, database: Database) -> ScrapeCounts:
    """Notifications waiting for delivery, and those of them already tried (the retry
    backlog): counts on the (status, next_attempt_at) and (status, attempts, next_attempt_at)
    indexes."""
    notifications = database[Collections.NOTIFICATIONS]
    pending = DeliveryStatus.PENDING.value
    gauges = [
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
    ]
    return ScrapeCounts(registry, gauges)
