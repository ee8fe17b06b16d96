"""HTTP bodies and views of incidents: outages declared, updated and resolved, and their reach."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Text
from shared.incidents import AnyIncidentEvent, IncidentScope, IncidentStatus, Severity, Title
from shared.vocabulary import CustomerId, NumberRange, Slug

# Bounds a declaration's scope, so one command stays far below Kafka's message size limit.
MAX_SCOPE_CUSTOMERS = 5_000
MAX_SCOPE_VALUES = 200


SCOPE_LISTS = ("customer_ids", "regions", "carrier_routes", "number_ranges", "products")


class ScopeRequest(IncidentScope):
    """Who is hit, as an operator names it: at least one customer or service, within bounds."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"minItems": 1}}} for name in SCOPE_LISTS
            ]
        }
    )

    customer_ids: Annotated[tuple[CustomerId, ...], Field(max_length=MAX_SCOPE_CUSTOMERS)] = ()
    regions: Annotated[tuple[Slug, ...], Field(max_length=MAX_SCOPE_VALUES)] = ()
    carrier_routes: Annotated[tuple[Slug, ...], Field(max_length=MAX_SCOPE_VALUES)] = ()
    number_ranges: Annotated[tuple[NumberRange, ...], Field(max_length=MAX_SCOPE_VALUES)] = ()
    products: Annotated[tuple[Slug, ...], Field(max_length=MAX_SCOPE_VALUES)] = ()


class IncidentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeclarationRequest(IncidentRequest):
    """An outage an operator (or a monitoring system) declares."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Calls to Madrid fail on carrier B",
                    "severity": "critical",
                    "scope": {"regions": ["eu-south"], "carrier_routes": ["carrier-b"]},
                    "message": "Outbound calls to Madrid fail. Engineers are rerouting traffic.",
                }
            ]
        }
    )

    title: Title
    severity: Severity
    scope: Annotated[
        ScopeRequest,
        Field(
            description=(
                "Who is hit: named customers, and/or every customer using one of these regions,"
                " carrier routes, number ranges (E.164 prefixes) or products"
            )
        ),
    ]
    message: Annotated[Text, Field(description="Sent to every affected customer")]


class IncidentUpdateRequest(IncidentRequest):
    message: Annotated[Text, Field(description="Sent to every affected customer")]
    severity: Annotated[Severity | None, Field(description="A new severity, if it changed")] = None


class ResolutionRequest(IncidentRequest):
    message: Annotated[Text, Field(description="Sent to every affected customer")]


class IncidentFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class IncidentAccepted(BaseModel):
    """Kafka holds the command; the workflow applies it shortly, in order for this incident."""

    incident_id: str
    command_id: str
    status_url: str


class IncidentSummary(BaseModel):
    """An incident as operators see it in a list."""

    incident_id: str
    title: str
    severity: Severity
    status: IncidentStatus
    scope: IncidentScope
    message: Annotated[str, Field(description="The latest message sent to affected customers")]
    detected: Annotated[bool, Field(description="Declared by burst detection, not an operator")]
    update_count: int
    declared_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class DeliveryCounts(BaseModel):
    affected: Annotated[int, Field(description="Customers the broadcast was planned for")]
    recipients: Annotated[int, Field(description="Notifications planned: per contact and channel")]
    notified: Annotated[int, Field(description="Notifications stored so far")]
    delivered: int
    failed: Annotated[int, Field(description="Given up after every retry")]
    pending: Annotated[int, Field(description="Stored, still being delivered or retried")]


class BroadcastCounts(DeliveryCounts):
    """One incident event's broadcast: who it was planned for and what became of it."""

    event_id: str
    event_type: str
    planned_at: Annotated[
        datetime | None, Field(description="When the notifier planned it; null: not yet")
    ]


class IncidentCounts(BaseModel):
    broadcasts: Annotated[list[BroadcastCounts], Field(description="One per incident event")]
    total: Annotated[
        DeliveryCounts,
        Field(description="Summed over the broadcasts; `affected` as of the latest one planned"),
    ]


class IncidentView(IncidentSummary):
    """An incident with its timeline and live counts of its reach."""

    events: list[AnyIncidentEvent]
    version: int
    linked_tickets: Annotated[int, Field(description="Tickets linked to this incident")]
    counts: IncidentCounts


class CustomerIncidentView(BaseModel):
    """An outage as an affected customer sees it: what it is, never whom else it hits."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str
    title: str
    severity: Severity
    status: IncidentStatus
    message: str
    declared_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
