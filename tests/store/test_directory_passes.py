"""A pass over the whole directory (a broadcast's plan, its webhook secrets) on the real server:
every customer is read, in round trips small enough not to hold a store thread for long."""

import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.intake.customers.directory import customer_document
from services.notifier.directory import PASS_BATCH, CustomerDirectory
from shared.customers import Contact, Customer, Services, WebhookAddress
from shared.incidents import IncidentScope
from shared.mongo import Collections, Document
from tests.store.conftest import StoreUnderTest

pytestmark = pytest.mark.store

CUSTOMERS = 2 * PASS_BATCH + 137
REGION = "eu-south"


class BatchSizes(monitoring.CommandListener):
    """How many documents each `find` and `getMore` reply carried."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name in ("find", "getMore"):
            cursor = event.reply.get("cursor", {})
            batch = cursor.get("firstBatch", cursor.get("nextBatch", []))
            self.sizes.append(len(batch))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def customer(index: int) -> Document:
    contact = Contact(
        contact_id="noc",
        name=f"NOC {index}",
        webhook=WebhookAddress(url=f"https://hooks.example/{index}", secret="s" * 32),
        in_app=True,
    )
    return customer_document(
        Customer(
            customer_id=f"customer-{index:05d}",
            name=f"Customer {index}",
            contacts=[contact],
            services=Services(regions=(REGION,)),
        )
    )


@pytest.fixture
async def watched(
    store: StoreUnderTest,
) -> AsyncIterator[tuple[CustomerDirectory, BatchSizes]]:
    listener = BatchSizes()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        store.url, tz_aware=True, event_listeners=[listener]
    )
    name = f"store_{uuid.uuid4().hex}"
    customers = client[name][Collections.CUSTOMERS]
    await customers.insert_many([customer(index) for index in range(CUSTOMERS)])
    listener.sizes.clear()
    try:
        yield CustomerDirectory(customers), listener
    finally:
        await client.drop_database(name)
        await client.close()


async def test_a_broadcast_plan_reads_every_customer_a_batch_at_a_time(
    watched: tuple[CustomerDirectory, BatchSizes],
) -> None:
    directory, listener = watched

    entries = [entry async for entry in directory.entries_in(IncidentScope(regions=(REGION,)))]

    assert [entry.customer_id for entry in entries] == [
        f"customer-{index:05d}" for index in range(CUSTOMERS)
    ]
    assert sum(listener.sizes) == CUSTOMERS
    assert max(listener.sizes) <= PASS_BATCH
    assert len(listener.sizes) >= CUSTOMERS / PASS_BATCH


async def test_the_webhook_secrets_pass_reads_every_customer_a_batch_at_a_time(
    watched: tuple[CustomerDirectory, BatchSizes],
) -> None:
    directory, listener = watched

    addresses = await directory.webhook_addresses()

    assert len(addresses) == CUSTOMERS
    assert sum(listener.sizes) == CUSTOMERS
    assert max(listener.sizes) <= PASS_BATCH
