"""Kafka, then the document store, stopped and started again under steady ticket load and an
outage broadcast: intake answers 503 while either is gone, nothing it accepted is lost, and
every consumer picks up where it stopped."""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from infra.services import Platform
from infra.stack import LocalStack
from shared.mongo import Database
from tests.e2e.support import Keys
from tests.faults.scenario import FaultCounts, FaultRun, WebhookCounter
from tests.faults.test_service_crashes import NOTIFIER_IN_FLIGHT

pytestmark = pytest.mark.faults

DOWN_S = 4.0  # how long Kafka or the store stays down once intake refuses writes
RESTART_TIMEOUT_S = 90.0
# A webhook sent while the store is gone cannot be recorded, and a broadcast chunk whose
# delivery events cannot reach Kafka is given up and handed out again: either way only the
# deliveries the notifier had under way or unrecorded are sent again, as when it dies.
REPEAT_BOUND = NOTIFIER_IN_FLIGHT
RESUME_WITHIN_S = 30.0  # server back → the next webhook received
FRESH_TICKET_WITHIN_S = 45.0  # server back → the webhook of a ticket posted at that moment


@pytest.fixture
async def intake(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=128)
    async with httpx.AsyncClient(base_url=platform.intake_url, timeout=15, limits=limits) as client:
        yield client


async def until_refused(run: FaultRun) -> None:
    """Until intake has answered 503 to some of the load: it noticed the outage."""
    deadline = time.monotonic() + 30
    while run.load.refused_now("503") == 0:
        assert time.monotonic() < deadline, "intake never answered 503 during the outage"
        await asyncio.sleep(0.1)


async def test_kafka_stopped_under_load_loses_nothing_accepted(
    stack: LocalStack,
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    sink: WebhookCounter,
    record_counts: list[FaultCounts],
) -> None:
    async def stop_kafka(run: FaultRun) -> None:
        await asyncio.to_thread(stack.kafka.stop)
        await until_refused(run)
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(stack.kafka.start)
        await asyncio.to_thread(stack.kafka.wait_ready, RESTART_TIMEOUT_S)

    run = FaultRun("Kafka stopped", intake, keys, database, sink, REPEAT_BOUND)
    counts = await run.run(stop_kafka)
    record_counts.append(counts)

    assert_recovered(counts)


async def test_store_killed_under_load_loses_nothing_accepted(
    stack: LocalStack,
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    sink: WebhookCounter,
    record_counts: list[FaultCounts],
) -> None:
    async def kill_store(run: FaultRun) -> None:
        stack.store.kill()  # on the same data folder and port again below
        await until_refused(run)
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(stack.store.start)
        await asyncio.to_thread(stack.store.wait_ready, RESTART_TIMEOUT_S)

    run = FaultRun("kill -9 store", intake, keys, database, sink, REPEAT_BOUND)
    counts = await run.run(kill_store)
    record_counts.append(counts)

    assert_recovered(counts)


def assert_recovered(counts: FaultCounts) -> None:
    assert counts.accepted > 0
    assert set(counts.refused) == {"503"}, counts.summary()
    assert counts.tickets_missing == 0, counts.summary()
    assert counts.stored == counts.notifications_expected, counts.summary()
    assert counts.stored_twice == 0, counts.summary()
    assert counts.not_delivered == 0, counts.summary()
    assert counts.webhooks_delivered == counts.webhooks_expected, counts.summary()
    assert counts.webhook_repeats <= counts.repeat_bound, counts.summary()
    assert counts.resumed_after_s is not None, counts.summary()
    assert counts.resumed_after_s <= RESUME_WITHIN_S, counts.summary()
    assert counts.fresh_ticket_s is not None, counts.summary()
    assert counts.fresh_ticket_s <= FRESH_TICKET_WITHIN_S, counts.summary()
