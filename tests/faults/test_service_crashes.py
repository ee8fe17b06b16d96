"""kill -9 of each service in turn under steady ticket load and an outage broadcast: every
accepted ticket is readable, every notification is stored once and delivered, repeats stay
within what the README allows, and delivery resumes within seconds of the restart."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from infra.services import Platform
from shared.mongo import Database
from tests.e2e.support import Keys
from tests.faults.conftest import FAULT_ENV
from tests.faults.scenario import FaultCounts, FaultRun, Inject, WebhookCounter

pytestmark = pytest.mark.faults

DOWN_S = 2.0  # how long a killed service stays down before the test starts it again
# A notifier that dies repeats at most the deliveries it had under way or done but not
# recorded: its delivery worker's and its broadcasts' (README, "Delivery guarantees").
NOTIFIER_IN_FLIGHT = int(FAULT_ENV.get("SWITCHBOARD_DELIVERY_CONCURRENCY", "32")) + int(
    FAULT_ENV["SWITCHBOARD_BROADCAST_UNRECORDED_MAX"]
)
# Only the notifier sends webhooks: intake or workflow dying must not repeat a single one.
REPEAT_BOUND = {"intake": 0, "workflow": 0, "notifier": NOTIFIER_IN_FLIGHT}
# restart → the next webhook received; a consumer rejoining its group waits out the dead
# member's session (10 s) first.
RESUME_WITHIN_S = 15.0
FRESH_TICKET_WITHIN_S = 30.0  # restart → the webhook of a ticket posted at that moment


@pytest.fixture
async def intake(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=platform.intake_url, timeout=15, limits=limits) as client:
        yield client


def kill_and_restart(platform: Platform, service: str) -> Inject:
    async def inject(_run: FaultRun) -> None:
        platform.services[service].kill()
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(platform.start, [service])

    return inject


@pytest.mark.parametrize("service", ["intake", "workflow", "notifier"])
async def test_a_killed_service_loses_nothing_and_repeats_within_the_bound(
    service: str,
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    sink: WebhookCounter,
    record_counts: list[FaultCounts],
) -> None:
    run = FaultRun(f"kill -9 {service}", intake, keys, database, sink, REPEAT_BOUND[service])

    counts = await run.run(kill_and_restart(platform, service))
    record_counts.append(counts)

    assert counts.accepted > 0
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
