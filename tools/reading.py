"""Reading topics for the tools: without a consumer group, so nothing is committed anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from tools.records import TopicRecord

POLL_MS = 500


class NoSuchRecord(LookupError):
    """No record at that offset: never written, or gone with the topic's retention."""


@asynccontextmanager
async def group_free_consumer(bootstrap: str, **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer outside any group: it reads what it is told and commits nothing."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **options
    )
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()  # also after a start that failed: it closes what it opened


def to_record(raw: Any) -> TopicRecord:
    """An aiokafka `ConsumerRecord` as a `TopicRecord`."""
    return TopicRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        timestamp_ms=raw.timestamp,
        key=raw.key.decode(errors="replace") if raw.key is not None else None,
        value=raw.value or b"",
        headers={name: value.decode(errors="replace") for name, value in raw.headers or ()},
    )


async def record_at(bootstrap: str, topic: str, partition: int, offset: int) -> TopicRecord:
    """The record at one offset of one partition."""
    where = TopicPartition(topic, partition)
    async with group_free_consumer(bootstrap) as consumer:
        consumer.assign([where])
        first = (await consumer.beginning_offsets([where]))[where]
        end = (await consumer.end_offsets([where]))[where]
        if not first <= offset < end:
            raise NoSuchRecord(f"no record at offset {offset} of {topic}[{partition}]")
        consumer.seek(where, offset)
        raw = await consumer.getone(where)
        return to_record(raw)


async def last_records(
    bootstrap: str, topic: str, partitions: Sequence[int], last: int
) -> list[TopicRecord]:
    """Up to `last` records of each partition, the newest, as the partitions stand now."""
    wanted = [TopicPartition(topic, partition) for partition in partitions]
    found: list[TopicRecord] = []
    async with group_free_consumer(bootstrap) as consumer:
        consumer.assign(wanted)
        firsts = await consumer.beginning_offsets(wanted)
        ends = await consumer.end_offsets(wanted)
        for where in wanted:
            consumer.seek(where, max(firsts[where], ends[where] - last))
        while await _behind(consumer, ends):
            batches = await consumer.getmany(*wanted, timeout_ms=POLL_MS)
            found += [to_record(raw) for batch in batches.values() for raw in batch]
    return sorted(
        (r for r in found if r.offset < ends[TopicPartition(topic, r.partition)]),
        key=lambda r: (r.partition, r.offset),
    )


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether some partition has not been read up to `ends` yet."""
    for where, end in ends.items():
        if await consumer.position(where) < end:
            return True
    return False
