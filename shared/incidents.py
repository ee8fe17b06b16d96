"""The incident contract: outages that hit many customers, declared, updated and resolved.

An incident is an aggregate of its own, owned by the workflow like tickets are. Its scope is
matched against the services in the customer directory to find who is affected.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from shared.customers import Language, Services
from shared.events import Actor, AffectedService, Contract, Reason, Text, ValueObject
from shared.vocabulary import Channel, CustomerId, IncidentId, NumberRange, Slug

Title = Annotated[str, Field(min_length=1, max_length=200)]


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

    def covers(self, affected: AffectedService) -> bool:
        """A ticket's affected service lies inside the scope."""
        return self.matches("", _as_services(affected))

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
            ranges_overlap(outage, used)
            for outage in self.number_ranges
            for used in services.number_ranges
        )


def _as_services(affected: AffectedService) -> Services:
    return Services(
        regions=(affected.region,) if affected.region else (),
        carrier_routes=(affected.carrier_route,) if affected.carrier_route else (),
        number_ranges=(affected.number_range,) if affected.number_range else (),
        products=(affected.product,) if affected.product else (),
    )


def ranges_overlap(outage: str, used: str) -> bool:
    """Ranges are prefixes: +3491 lies inside +34, and +34 covers all of +3491."""
    return outage.startswith(used) or used.startswith(outage)


def covering_ranges(number_range: str) -> list[str]:
    """The ranges `number_range` lies inside, itself included: +3491 -> +3, +34, +349, +3491.

    A range overlaps `number_range` if it is one of these, or if it starts with
    `number_range`: what an indexed query asks for (an `$in` and an anchored prefix)."""
    return [number_range[:end] for end in range(2, len(number_range) + 1)]


# Commands: requests to change an incident, keyed by incident id. intake publishes the
# operators' ones; the workflow declares the incidents it detects in a burst of tickets.


class IncidentCommand(Contract):
    command_id: str
    issued_at: AwareDatetime
    issued_by: Actor
    incident_id: IncidentId
    reason: Reason = ""


class DeclareIncident(IncidentCommand):
    type: Literal["DeclareIncident"] = "DeclareIncident"
    title: Title
    severity: Severity
    scope: IncidentScope
    message: Text
    request_hash: Annotated[str, Field(min_length=64, max_length=64)]
    detected: bool = False  # opened by burst detection rather than by an operator


class UpdateIncident(IncidentCommand):
    type: Literal["UpdateIncident"] = "UpdateIncident"
    message: Text
    severity: Severity | None = None


class ResolveIncident(IncidentCommand):
    type: Literal["ResolveIncident"] = "ResolveIncident"
    message: Text


# Events: facts about an incident. Each carries the title and scope, so the notifier can find
# and tell every affected customer from the event alone.


class IncidentEvent(Contract):
    event_id: str
    occurred_at: AwareDatetime
    incident_id: IncidentId
    actor: Actor
    reason: Reason = ""
    title: Title
    severity: Severity
    scope: IncidentScope
    message: Text


class IncidentDeclared(IncidentEvent):
    type: Literal["IncidentDeclared"] = "IncidentDeclared"
    detected: bool = False


class IncidentUpdated(IncidentEvent):
    type: Literal["IncidentUpdated"] = "IncidentUpdated"
    update_number: Annotated[int, Field(ge=1)]


class IncidentResolved(IncidentEvent):
    type: Literal["IncidentResolved"] = "IncidentResolved"


AnyIncidentCommand = Annotated[
    DeclareIncident | UpdateIncident | ResolveIncident, Field(discriminator="type")
]
AnyIncidentEvent = Annotated[
    IncidentDeclared | IncidentUpdated | IncidentResolved, Field(discriminator="type")
]
incident_command_adapter: TypeAdapter[AnyIncidentCommand] = TypeAdapter(AnyIncidentCommand)
incident_event_adapter: TypeAdapter[AnyIncidentEvent] = TypeAdapter(AnyIncidentEvent)


# The broadcast work queue: an incident event's audience, cut into chunks that several
# notifier instances share. A chunk names its recipients; secrets stay in the directory.


class BroadcastRecipient(ValueObject):
    customer_id: CustomerId
    contact_id: str
    channel: Channel
    language: Language
    address: str | None = None


class BroadcastChunk(Contract):
    type: Literal["BroadcastChunk"] = "BroadcastChunk"
    event: AnyIncidentEvent
    chunk: Annotated[int, Field(ge=0)]
    recipients: Annotated[list[BroadcastRecipient], Field(max_length=10_000)]
