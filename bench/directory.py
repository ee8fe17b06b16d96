"""The broadcast benchmark's customers, written straight into the `customers` collection.

Seeding a hundred thousand customers through PUT /v1/customers, one request each, would take
far longer than the broadcast being measured; the documents are the very ones intake stores
(`services.intake.customers.directory.customer_document`), inserted a batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable

from services.intake.customers.directory import customer_document
from shared.customers import Contact, Customer, Services, WebhookAddress
from shared.mongo import Collections, Database, Document

SEED_BATCH = 1000
WEBHOOK_SECRET = "whsec_bench_broadcast_0123456789"  # the sink checks no signature
# Each customer is heard from in-app and by webhook: two notifications a customer.
CHANNELS_PER_CUSTOMER = 2


def customer_id(region: str, index: int) -> str:
    return f"bc-{region}-{index:06d}"


def affected_customer(region: str, index: int, webhook_url: str) -> Document:
    """A customer of `region` whose one contact takes outages in-app and by webhook."""
    contact = Contact(
        contact_id="noc",
        name=f"NOC {index}",
        webhook=WebhookAddress(url=webhook_url, secret=WEBHOOK_SECRET),
        in_app=True,
    )
    customer = Customer(
        customer_id=customer_id(region, index),
        name=f"Broadcast customer {index}",
        contacts=[contact],
        services=Services(regions=(region,)),
    )
    return customer_document(customer)


async def seed_region(
    database: Database, region: str, count: int, webhook_url: Callable[[int, str], str]
) -> None:
    """`count` customers of `region`; `webhook_url(index, customer_id)` is each one's endpoint."""
    customers = database[Collections.CUSTOMERS]
    for start in range(0, count, SEED_BATCH):
        documents = [
            affected_customer(region, index, webhook_url(index, customer_id(region, index)))
            for index in range(start, min(count, start + SEED_BATCH))
        ]
        await customers.insert_many(documents, ordered=False)


async def forget_region(database: Database, region: str) -> None:
    await database[Collections.CUSTOMERS].delete_many({"services.regions": region})
