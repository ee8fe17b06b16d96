"""Raw baselines on the same servers: aiokafka produce with acks=all, PyMongo insert_one."""

from __future__ import annotations

import json
import uuid

from aiokafka import AIOKafkaProducer

from bench.stats import Sample, closed_loop
from shared.kafka import ensure_topics
from shared.mongo import Document, create_client
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
    client = create_client(ServiceSettings(mongo_url=mongo_url))
    database_name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    documents = client[database_name]["documents"]
    run_tag = uuid.uuid4().hex[:8]

    async def insert(index: int) -> None:
        await documents.insert_one(mongo_document(run_tag, index))

    try:
        await closed_loop(concurrency, concurrency, lambda i: insert(count + i))  # warm-up
        return await closed_loop(count, concurrency, insert)
    finally:
        await client.drop_database(database_name)
        await client.close()
