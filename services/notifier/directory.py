"""The notifier's read side of the customer directory intake keeps: who is told, and how."""

import logging
import re
from collections.abc import AsyncIterator

from pydantic import ValidationError

from services.notifier.domain.broadcast import DirectoryEntry
from shared.coalesce import CoalescedFinds
from shared.customers import Contact, Customer, Services, WebhookAddress
from shared.incidents import IncidentScope
from shared.mongo import Collection, Document

log = logging.getLogger("switchboard.notifier.store")

# Documents per round trip of a pass over the directory. A server answers one connection's
# command at a time on a shared thread, so one batch of the driver's default size (up to 16 MB)
# would hold every other caller on that thread for as long as it takes to read.
PASS_BATCH = 500


class CustomerDirectory:
    """The notifier's read side of the customer directory intake keeps."""

    def __init__(self, customers: Collection) -> None:
        self._customers = customers
        self._by_id = CoalescedFinds(customers)  # a batch of events: one read of its customers

    async def customer(self, customer_id: str) -> Customer | None:
        document = await self._by_id.find_one(customer_id)
        if document is None:
            return None
        fields = {key: value for key, value in document.items() if key != "_id"}
        try:
            return Customer.model_validate({**fields, "customer_id": document["_id"]})
        except ValidationError:
            # An entry the directory's rules no longer accept: tell the account in-app only.
            log.warning("unusable directory entry", extra={"customer": customer_id})
            return None

    async def contact(self, customer_id: str, contact_id: str) -> Contact | None:
        customer = await self.customer(customer_id)
        found = [c for c in customer.contacts if c.contact_id == contact_id] if customer else []
        return found[0] if found else None

    async def entries_in(self, scope: IncidentScope) -> AsyncIterator[DirectoryEntry]:
        """The entries an outage may hit, in customer id order: one pass over the directory."""
        cursor = self._customers.find(
            narrowing_filter(scope), sort=[("_id", 1)], batch_size=PASS_BATCH
        )
        async for document in cursor:
            yield _entry(document)

    async def webhook_addresses(self) -> dict[tuple[str, str], WebhookAddress]:
        """Every contact's webhook, by (customer id, contact id): one pass over the directory."""
        cursor = self._customers.find({}, projection={"contacts": 1}, batch_size=PASS_BATCH)
        found: dict[tuple[str, str], WebhookAddress] = {}
        async for document in cursor:
            for contact in document.get("contacts", []):
                address = _webhook(contact)
                if address is not None:
                    found[document["_id"], contact.get("contact_id", "")] = address
        return found


def narrowing_filter(scope: IncidentScope) -> Document:
    """A query for every customer the scope may hit (and some it may not): the scope itself
    decides. Number ranges overlap as prefixes: a customer's range lies inside the outage's,
    or the outage's inside the customer's (then the customer's is one of its prefixes)."""
    services = {
        "services.regions": scope.regions,
        "services.carrier_routes": scope.carrier_routes,
        "services.products": scope.products,
    }
    clauses: list[Document] = [
        {field: {"$in": list(values)}} for field, values in services.items() if values
    ]
    if scope.customer_ids:
        clauses.append({"_id": {"$in": list(scope.customer_ids)}})
    for outage in scope.number_ranges:
        prefixes = [outage[:end] for end in range(2, len(outage) + 1)]
        clauses.append({"services.number_ranges": {"$in": prefixes}})
        clauses.append({"services.number_ranges": {"$regex": f"^{re.escape(outage)}"}})
    return {"$or": clauses}


def _entry(document: Document) -> DirectoryEntry:
    fields = {key: value for key, value in document.items() if key != "_id"}
    customer_id = str(document["_id"])
    try:
        customer = Customer.model_validate({**fields, "customer_id": customer_id})
    except ValidationError:
        log.warning("unusable directory entry", extra={"customer": customer_id})
        return DirectoryEntry(customer_id, None, _services(document))
    return DirectoryEntry(customer_id, customer, customer.services)


def _services(document: Document) -> Services:
    try:
        return Services.model_validate(document.get("services") or {})
    except ValidationError:
        return Services()  # then only naming the customer in the scope reaches them


def _webhook(contact: object) -> WebhookAddress | None:
    webhook = contact.get("webhook") if isinstance(contact, dict) else None
    if webhook is None:
        return None
    try:
        return WebhookAddress.model_validate(webhook)
    except ValidationError:
        return None
