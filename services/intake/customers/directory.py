"""The customer directory: who a customer is, who hears from us, how, and what they use.

The directory is reference data, not ticket state, so intake writes it directly instead of
sending a command through Kafka: an agent's PUT replaces the customer's document whole, and a
contact's preference change sets only that contact's preference fields. No ticket event comes
from these writes and no ticket document changes; the notifier reads the same documents to
decide who is told, on which channels, in which language. A document is
`{_id: customer_id, name, contacts: [...], services: {...}}` (`shared.customers.Customer`).
The contact is addressed by its position, guarded by its id, rather than with the positional
`$` update, which not every MongoDB-wire store implements alike.
"""

import logging
import re
from typing import Any

from pydantic import ValidationError

from services.intake.customers.schemas import CustomerFilters, PreferencesRequest
from shared.customers import Contact, Customer
from shared.incidents import covering_ranges
from shared.mongo import Collections, Database, Document

log = logging.getLogger("switchboard.intake.customers")

BY_ID = [("_id", 1)]
# A preference change retries when the contact moved (a PUT reordered the contacts meanwhile).
PREFERENCE_ATTEMPTS = 3
EXACT_FIELDS = {
    "region": "services.regions",
    "carrier_route": "services.carrier_routes",
    "product": "services.products",
}
NUMBER_RANGES = "services.number_ranges"


class DirectoryChanged(Exception):
    """The customer's contacts kept changing while a preference change was being applied."""


def customer_document(customer: Customer) -> Document:
    return {
        "_id": customer.customer_id,
        **customer.model_dump(mode="json", exclude={"customer_id"}),
    }


def customer_from(document: Document) -> Customer | None:
    """The customer a document holds; None, and a warning, if it breaks the directory's rules."""
    fields = {key: value for key, value in document.items() if key != "_id"}
    try:
        return Customer.model_validate({**fields, "customer_id": document["_id"]})
    except ValidationError as error:
        log.warning("unusable directory entry %s: %s", document["_id"], error.error_count())
        return None


def services_query(filters: CustomerFilters) -> Document:
    """A customer matches if its services hold each value given; a number range, as outages
    do, if one of the customer's ranges overlaps it (`shared.incidents.ranges_overlap`)."""
    wanted = filters.model_dump(include=set(EXACT_FIELDS), exclude_none=True)
    query: Document = {EXACT_FIELDS[name]: value for name, value in wanted.items()}
    if filters.number_range is not None:
        query["$or"] = overlapping_ranges(filters.number_range)
    return query


def overlapping_ranges(number_range: str) -> list[Document]:
    """Ranges that cover `number_range` or lie inside it, both served by the index on
    `services.number_ranges`: an `$in` of its prefixes and an anchored `^prefix`."""
    return [
        {NUMBER_RANGES: {"$in": covering_ranges(number_range)}},
        {NUMBER_RANGES: {"$regex": f"^{re.escape(number_range)}"}},
    ]


def with_preferences(contact: Contact, preferences: PreferencesRequest) -> Contact:
    """The contact with its new preferences, checked by the shared rules (ValidationError)."""
    return Contact.model_validate({**contact.model_dump(), **preferences.changes()})


def contact_index(customer: Customer, contact_id: str) -> int | None:
    ids = [contact.contact_id for contact in customer.contacts]
    return ids.index(contact_id) if contact_id in ids else None


class Customers:
    """The `customers` collection, read and written by intake on an agent's or customer's word."""

    def __init__(self, database: Database) -> None:
        self._customers = database[Collections.CUSTOMERS]

    async def document(self, customer_id: str) -> Document | None:
        return await self._customers.find_one({"_id": customer_id})

    async def replace_document(self, document: Document) -> None:
        await self._customers.replace_one({"_id": document["_id"]}, document, upsert=True)

    async def documents_matching(self, query: Document, limit: int) -> list[Document]:
        cursor = self._customers.find(query, sort=BY_ID, limit=limit)
        return [document async for document in cursor]

    async def set_contact_fields(
        self, customer_id: str, index: int, contact_id: str, fields: dict[str, Any]
    ) -> bool:
        """Set fields of the contact at `index` if it is still `contact_id`; False if it moved."""
        result = await self._customers.update_one(
            {"_id": customer_id, f"contacts.{index}.contact_id": contact_id},
            {"$set": {f"contacts.{index}.{name}": value for name, value in fields.items()}},
        )
        return result.matched_count == 1

    async def get(self, customer_id: str) -> Customer | None:
        document = await self.document(customer_id)
        return customer_from(document) if document else None

    async def save(self, customer: Customer) -> None:
        await self.replace_document(customer_document(customer))

    async def matching(self, filters: CustomerFilters) -> list[Customer]:
        documents = await self.documents_matching(services_query(filters), filters.limit)
        return [customer for d in documents if (customer := customer_from(d)) is not None]

    async def change_preferences(
        self, customer_id: str, contact_id: str, preferences: PreferencesRequest
    ) -> Contact | None:
        """The contact as changed; None if there is no such contact. Raises ValidationError."""
        for _ in range(PREFERENCE_ATTEMPTS):
            customer = await self.get(customer_id)
            index = contact_index(customer, contact_id) if customer else None
            if customer is None or index is None:
                return None
            changed = with_preferences(customer.contacts[index], preferences)
            fields = changed.model_dump(mode="json", include=set(preferences.changes()))
            if await self.set_contact_fields(customer_id, index, contact_id, fields):
                return changed
        raise DirectoryChanged(
            f"the contacts of {customer_id} kept changing; nothing was changed, try again"
        )
