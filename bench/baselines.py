"""Raw baselines on the same servers: aiokafka produce with acks=all, PyMongo inserts."""

from __future__ import annotations

import json
import math
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from pymongo.errors import PyMongoError

from bench.stats import Sample, closed_loop
from shared.kafka import ensure_topics
from shared.mongo import Collections, Database, Document, create_client, ensure_indexes
from shared.settings import ServiceSettings
from shared.topics import TICKET_COMMANDS, Topic

RAW_TOPIC = Topic(
    name="bench.raw-produce.v1",
    partitions=TICKET_COMMANDS.partitions,  # the same spread as the commands intake publishes
    key="sequence",
    description="Throw-away messages of the raw produce baseline.",
)
KAFKA_MESSAGE_BYTES = 500
MONGO_DOCUMENT_BYTES = 1000


def kafka_message(index: int) -> bytes:
    """A JSON message of about KAFKA_MESSAGE_BYTES, shaped like a small command."""
    body = {"type": "BenchMessage", "sequence": index, "customer_id": "bench", "pad": ""}
    padding = KAFKA_MESSAGE_BYTES - len(json.dumps(body))
    return json.dumps({**body, "pad": "x" * max(0, padding)}).encode()


def mongo_document(run_tag: str, index: int) -> Document:
    """A document of about MONGO_DOCUMENT_BYTES of BSON, shaped like a small ticket."""
    return {
        "_id": f"{run_tag}-{index:08d}",
        "customer_id": "bench",
        "status": "opened",
        "summary": "Choppy audio on outbound calls",
        "description": "x" * (MONGO_DOCUMENT_BYTES - 120),
    }


def notification_document(run_tag: str, index: int) -> Document:
    """A document shaped like an outage notification as the notifier stores it."""
    now = datetime.now(UTC)
    return {
        "_id": f"NTF-{run_tag}-{index:010d}",
        "incident_id": "INC-0000000000000000",
        "event_id": "00000000-0000-4000-8000-000000000000",
        "event_type": "IncidentDeclared",
        "customer_id": f"bc-bench-{index:06d}",
        "contact_id": "noc",
        "recipient": f"bc-bench-{index:06d}/noc",
        "channel": "webhook" if index % 2 else "in_app",
        "language": "en",
        "status": "delivered" if index % 2 == 0 else "pending",
        "subject": "Service outage: calls failing in one region",
        "body": "Calls into the region fail; engineers are rerouting traffic. " * 3,
        "attempts": 0,
        "next_attempt_at": now,
        "occurred_at": now,
        "created_at": now,
        "delivered_at": now if index % 2 == 0 else None,
    }


async def kafka_produce(bootstrap: str, count: int, concurrency: int) -> Sample:
    """`count` keyed sends, one `send_and_wait` at a time per task, acks=all and idempotent."""
    await ensure_topics(bootstrap, [RAW_TOPIC])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()

    async def send(index: int) -> None:
        key = f"key-{index:08d}".encode()
        await producer.send_and_wait(RAW_TOPIC.name, kafka_message(index), key=key)

    try:
        await closed_loop(concurrency * 4, concurrency, send)  # warm-up: metadata, connection
        return await closed_loop(count, concurrency, send)
    finally:
        await producer.stop()


async def mongo_insert(mongo_url: str, count: int, concurrency: int) -> Sample:
    """`count` insert_one calls into a fresh database, with the services' client options."""
    run_tag = uuid.uuid4().hex[:8]
    async with scratch_database(mongo_url) as database:
        documents = database["documents"]

        async def insert(index: int) -> None:
            await documents.insert_one(mongo_document(run_tag, index))

        await closed_loop(concurrency, concurrency, lambda i: insert(count + i))  # warm-up
        return await closed_loop(count, concurrency, insert)


async def mongo_insert_many(
    mongo_url: str, documents: Callable[[int], Document], count: int, batch: int
) -> Sample:
    """`count` documents made by `documents(index)`, inserted `batch` at a time, one call after
    another, into a collection indexed like the services' `notifications` (latency: per call).
    """
    async with scratch_database(mongo_url) as database:
        await ensure_indexes(database)
        collection = database[Collections.NOTIFICATIONS]

        async def insert(call: int) -> None:
            indexes = range(call * batch, min(count, (call + 1) * batch))
            await collection.insert_many([documents(i) for i in indexes], ordered=False)

        await collection.insert_one(documents(count))  # warm-up: the collection exists
        return await closed_loop(math.ceil(count / batch), 1, insert)


@asynccontextmanager
async def scratch_database(mongo_url: str) -> AsyncIterator[Database]:
    """A fresh database, through a client with the services' options; dropped on the way out.

    A drop that fails (one of millions of documents can outlast the connection) is reported,
    never raised: the figures measured in the database are kept."""
    client = create_client(ServiceSettings(mongo_url=mongo_url))
    name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    try:
        yield client[name]
    finally:
        try:
            await client.drop_database(name)
        except PyMongoError as error:
            print(f"could not drop the scratch database {name}: {error}", file=sys.stderr)
        await client.close()
