"""What one notification lookup costs on the store: by `_id` versus by an indexed filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from time import perf_counter

from bench.stats import Figures, percentile
from shared.mongo import Collections, Database
from shared.vocabulary import DeliveryStatus


async def lookup_costs(database: Database, pairs: Sequence[tuple[str, str]]) -> Figures:
    """Median ms of `find_one` on the notifications, over (notification id, ticket id) pairs.

    `by_ticket_id` is the indexed `ticket_id` lookup; `due` is the notifier's lease query
    (same filter and sort, read only), which it runs after every stored notification and
    every poll.
    """
    notifications = database[Collections.NOTIFICATIONS]
    timings: dict[str, list[float]] = {"by_id": [], "by_ticket_id": [], "due": []}
    for notification_id, ticket_id in pairs:
        queries = {
            "by_id": notifications.find_one({"_id": notification_id}),
            "by_ticket_id": notifications.find_one({"ticket_id": ticket_id}),
            "due": notifications.find_one(
                {
                    "status": DeliveryStatus.PENDING.value,
                    "next_attempt_at": {"$lte": datetime.now(UTC)},
                },
                sort=[("next_attempt_at", 1)],
            ),
        }
        for name, query in queries.items():
            started = perf_counter()
            await query
            timings[name].append((perf_counter() - started) * 1000)
    figures = {f"lookup_{name}_ms": percentile(ms, 50) for name, ms in timings.items()}
    return figures | {"notifications_stored": float(await notifications.count_documents({}))}
