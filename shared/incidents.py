"""The incident contract: outages that hit many customers, declared, updated and resolved.

An incident is an aggregate of its own, owned by the workflow like tickets are. Its scope is
matched against the services in the customer directory to find who is affected.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from shared.customers import Services, Slug
from shared.events import ValueObject
from shared.vocabulary import CustomerId

NumberRange = Annotated[str, Field(pattern=r"^\+[0-9]{1,15}$")]


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentScope(ValueObject):
    """Who an outage hits: named customers, and/or everyone using any of these services."""

    customer_ids: tuple[CustomerId, ...] = ()
    regions: tuple[Slug, ...] = ()
    carrier_routes: tuple[Slug, ...] = ()
    number_ranges: tuple[NumberRange, ...] = ()
    products: tuple[Slug, ...] = ()

    @model_validator(mode="after")
    def _names_someone(self) -> "IncidentScope":
        if not any(
            (
                self.customer_ids,
                self.regions,
                self.carrier_routes,
                self.number_ranges,
                self.products,
            )
        ):
            raise ValueError("a scope names customers or at least one service attribute")
        return self

    def matches(self, customer_id: str, services: Services) -> bool:
        """Named explicitly, or sharing a region, route or product, or an overlapping range."""
        if customer_id in self.customer_ids:
            return True
        shared = (
            set(self.regions) & set(services.regions)
            or set(self.carrier_routes) & set(services.carrier_routes)
            or set(self.products) & set(services.products)
        )
        return bool(shared) or any(
            _overlap(outage, used)
            for outage in self.number_ranges
            for used in services.number_ranges
        )


def _overlap(outage: str, used: str) -> bool:
    """Ranges are prefixes: +3491 lies inside +34, and +34 covers all of +3491."""
    return outage.startswith(used) or used.startswith(outage)
