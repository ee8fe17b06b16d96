"""The MongoDB client factory and the collections Switchboard keeps."""

from collections.abc import Mapping
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.settings import ServiceSettings

Document = dict[str, Any]
Collection = AsyncCollection[Document]
Database = AsyncDatabase[Document]


class Collections:
    TICKETS = "tickets"
    NOTIFICATIONS = "notifications"
    # Written by the workflow beside the tickets, never into them: only commands write a ticket.
    TICKET_DELIVERIES = "ticket_deliveries"
    TIMER_CLAIMS = "timer_claims"
    INCIDENTS = "incidents"
    # The notifier's record of each broadcast: how many customers an incident event reached.
    BROADCASTS = "broadcasts"
    # The notifier's progress through each broadcast chunk: its claim, and what it stored.
    BROADCAST_CHUNKS = "broadcast_chunks"
    CUSTOMERS = "customers"
    API_KEYS = "api_keys"


def create_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
        retryWrites=False,  # the embedded store has no sessions; every write here is idempotent
    )


DUPLICATE_KEY = 11000


async def insert_new(collection: Collection, documents: list[Document]) -> set[str]:
    """Insert, in one write, the documents whose `_id` is not stored yet; the ids inserted.

    Documents already there (a redelivery) are left as they are; any other refusal raises.
    """
    refused = await insert_unless_stored(collection, documents)
    return {d["_id"] for i, d in enumerate(documents) if i not in refused}


async def insert_unless_stored(collection: Collection, documents: list[Document]) -> set[int]:
    """One unordered `insert_many`; the positions refused because their `_id` is stored."""
    if not documents:
        return set()
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        details: Mapping[str, Any] = error.details
        errors = details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()


async def ping(database: Database) -> bool:
    await database.command("ping")
    return True


async def ensure_indexes(database: Database) -> None:
    """Every index the services query by, in one place: plain, compound, multikey and unique.

    The store suite (tests/store) proves with `explain` that each read is planned on one.
    """
    tickets = database[Collections.TICKETS]
    await tickets.create_index("call_ids")
    await tickets.create_index([("customer_id", 1), ("created_at", -1)])
    await tickets.create_index("outbox_pending")
    await tickets.create_index("next_timer_at")
    await tickets.create_index("teams")
    await tickets.create_index([("status", 1), ("created_at", -1)])
    await tickets.create_index([("created_at", -1)])
    await database[Collections.TICKET_DELIVERIES].create_index(
        [("ticket_id", 1), ("occurred_at", 1)]
    )
    notifications = database[Collections.NOTIFICATIONS]
    await notifications.create_index([("customer_id", 1), ("created_at", -1)])
    await notifications.create_index([("status", 1), ("next_attempt_at", 1)])
    await notifications.create_index([("status", 1), ("attempts", 1), ("next_attempt_at", 1)])
    await notifications.create_index("ticket_id")
    await notifications.create_index([("incident_id", 1), ("status", 1)])
    await tickets.create_index("incident_id")
    await database[Collections.INCIDENTS].create_index([("status", 1), ("declared_at", -1)])
    await database[Collections.INCIDENTS].create_index("outbox_pending")
    await database[Collections.BROADCASTS].create_index("incident_id")
    await database[Collections.BROADCAST_CHUNKS].create_index("incident_id")
    await notifications.create_index("events_owed")
    customers = database[Collections.CUSTOMERS]  # who an outage hits: one service at a time
    await customers.create_index("services.regions")
    await customers.create_index("services.carrier_routes")
    await customers.create_index("services.number_ranges")
    await customers.create_index("services.products")
