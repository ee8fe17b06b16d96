"""The project's own store classes on the real server: the queries and guarded writes the
hot path depends on do what their callers assume."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.broadcasts.store import BroadcastStore
from services.notifier.notifications.store import NotificationStore
from services.workflow.documents import AggregateDocuments
from shared.mongo import Collections, Database, Document, ensure_indexes
from shared.vocabulary import DeliveryStatus

pytestmark = pytest.mark.store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def pending(notification_id: str, due: datetime, attempts: int | None) -> Document:
    document: Document = {
        "_id": notification_id,
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": due,
        "created_at": due,
    }
    if attempts is not None:
        document["attempts"] = attempts
    return document


async def test_a_fresh_notification_is_leased_before_a_backlog_of_due_retries(
    database: Database,
) -> None:
    await ensure_indexes(database)
    notifications = database[Collections.NOTIFICATIONS]
    retries = [
        pending(f"retry-{n:04d}", NOW - timedelta(hours=1, seconds=n), 3) for n in range(500)
    ]
    await notifications.insert_many(
        [*retries, pending("fresh", NOW, None), pending("broadcast-unsent", NOW, 0)]
    )
    store = NotificationStore(notifications)

    first = [await store.lease_due(NOW, LEASE) for _ in range(3)]

    leased = [d["_id"] for d in first if d]
    assert set(leased[:2]) == {"broadcast-unsent", "fresh"}  # due at the same moment
    assert leased[2] == "retry-0499"  # then the retry due first
    assert all(d["next_attempt_at"] == NOW + LEASE for d in first if d)


async def test_a_leased_notification_is_not_leased_again_before_its_lease_runs_out(
    database: Database,
) -> None:
    await ensure_indexes(database)
    store = NotificationStore(database[Collections.NOTIFICATIONS])
    await database[Collections.NOTIFICATIONS].insert_one(pending("only", NOW, None))

    leased = await store.lease_due(NOW, LEASE)
    again = await store.lease_due(NOW + LEASE / 2, LEASE)
    after = await store.lease_due(NOW + LEASE, LEASE)

    assert leased is not None
    assert again is None
    assert after is not None


async def test_chunk_counts_are_kept_once_however_often_a_write_is_repeated(
    database: Database,
) -> None:
    await ensure_indexes(database)
    chunks = database[Collections.BROADCAST_CHUNKS]
    store = BroadcastStore(database[Collections.BROADCASTS], chunks)
    key = "evt-1:0"
    info = {"event_id": "evt-1", "incident_id": "INC-1"}
    assert await store.start(key, "notifier-a", NOW + LEASE, info)

    for _ in range(3):  # a redelivered chunk, a relay after a crash
        await store.count_in_app(key, 4)
        await store.count_settled(key, "ntf-2", DeliveryStatus.DELIVERED.value)
    await store.record_stored(
        key, ["ntf-1", "ntf-2", "ntf-3"], NOW + LEASE, Counter({"delivered": 1, "pending": 2})
    )
    await store.count_settled(key, "ntf-3", DeliveryStatus.FAILED.value)

    chunk = await chunks.find_one({"_id": key})
    assert chunk is not None
    assert chunk["counts"] == {"delivered": 4 + 1 + 1, "pending": 0, "failed": 1}
    assert chunk["stored"] == ["ntf-1", "ntf-2", "ntf-3"]
    found = [c["_id"] async for c in chunks.find({"incident_id": "INC-1"})]
    assert found == [key]


async def test_the_relay_reads_only_documents_with_pending_events(database: Database) -> None:
    await ensure_indexes(database)
    tickets = database[Collections.TICKETS]
    old, recent = NOW - timedelta(minutes=5), NOW
    await tickets.insert_many(
        [
            {"_id": "T-1", "outbox_pending": ["e1", "e2"], "updated_at": old},
            {"_id": "T-2", "outbox_pending": [], "updated_at": old},
            {"_id": "T-3", "outbox_pending": ["e3"], "updated_at": recent},
            {"_id": "T-4", "updated_at": old},
            *({"_id": f"T-done-{n}", "outbox_pending": [], "updated_at": old} for n in range(200)),
        ]
    )

    found = await AggregateDocuments(tickets).with_pending_events(NOW - timedelta(minutes=1), 10)

    assert [d["_id"] for d in found] == ["T-1"]
