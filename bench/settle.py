"""Waiting until every Switchboard consumer group has caught up with what was published."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

GROUP_PREFIX = "switchboard"  # the services' consumer groups; other groups are not waited on
POLL_S = 0.25


class NotSettled(RuntimeError):
    """The services' consumers did not catch up in time."""


async def wait_until_consumed(bootstrap: str, timeout_s: float) -> float:
    """Seconds until no Switchboard consumer group lags behind the end of its topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    ends = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await ends.start()
    started = time.monotonic()
    try:
        while (lag := await consumer_lag(admin, ends)) > 0:
            if time.monotonic() - started > timeout_s:
                raise NotSettled(f"consumers still {lag} messages behind after {timeout_s:.0f}s")
            await asyncio.sleep(POLL_S)
        return time.monotonic() - started
    finally:
        await ends.stop()
        await admin.close()


async def consumer_lag(admin: AIOKafkaAdminClient, ends: AIOKafkaConsumer) -> int:
    """Messages the Switchboard consumer groups have yet to commit, over all their topics."""
    return sum((await lag_by_group(admin, ends)).values())


async def lag_by_group(admin: AIOKafkaAdminClient, ends: AIOKafkaConsumer) -> dict[str, int]:
    """Messages each Switchboard consumer group has yet to commit, over all its topics."""
    lags: dict[str, int] = {}
    for group_id, *_ in await admin.list_consumer_groups():
        if not str(group_id).startswith(GROUP_PREFIX):
            continue
        committed = await admin.list_consumer_group_offsets(group_id)
        partitions = await _partitions(admin, {partition.topic for partition in committed})
        lag = 0
        for partition, end in (await ends.end_offsets(partitions)).items():
            done = committed[partition].offset if partition in committed else 0
            lag += max(0, end - max(0, done))
        lags[str(group_id)] = lag
    return lags


async def _partitions(admin: AIOKafkaAdminClient, topics: set[str]) -> list[TopicPartition]:
    """Every partition of the topics, whether a group has committed on it yet or not."""
    described = await admin.describe_topics(sorted(topics)) if topics else []
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
