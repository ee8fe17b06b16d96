"""The workflow's read of the customer directory: which services each customer uses."""

import logging

from pydantic import ValidationError

from shared.customers import Services
from shared.mongo import Collection

log = logging.getLogger("switchboard.workflow.directory")


class ServiceDirectory:
    """Reads `services` from the customer documents intake keeps (`_id` is the customer id)."""

    def __init__(self, customers: Collection) -> None:
        self._customers = customers

    async def services_of(self, customer_ids: list[str]) -> dict[str, Services]:
        """The services of each customer found; a customer missing or unreadable is left out."""
        if not customer_ids:
            return {}
        cursor = self._customers.find({"_id": {"$in": sorted(set(customer_ids))}}, {"services": 1})
        found: dict[str, Services] = {}
        async for document in cursor:
            customer_id = document["_id"]
            try:
                found[customer_id] = Services.model_validate(document.get("services", {}))
            except ValidationError:
                log.warning("unusable services in the directory", extra={"customer": customer_id})
        return found
