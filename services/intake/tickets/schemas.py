"""HTTP response models of the intake API, and the body of opening a ticket."""

import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from services.intake.problems import Problem
from shared.events import AffectedService, TicketDetails
from shared.lifecycle import Step
from shared.vocabulary import (
    CallId,
    Category,
    CustomerId,
    DevelopmentStatus,
    Priority,
    Team,
    TicketStatus,
)

RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc_3339_text(value: object) -> object:
    if isinstance(value, str) and not RFC_3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with its offset: 2026-11-25T09:00:00Z")
    return value


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected a JSON integer, not a boolean, a string or a fraction")
    return int(value) if isinstance(value, float) else value


# A time in a query string: RFC 3339 as the OpenAPI says, never a bare number of seconds.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc_3339_text)]


class TicketRequest(TicketDetails):
    """A problem reported by a source system or an agent."""

    # A JSON integer (3, or 3.0 as JSON Schema allows), never true or "3".
    affected_users: Annotated[int, Field(ge=1, le=10_000_000), BeforeValidator(_json_integer)] = 1

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "acme-telecom",
                    "category": "call_quality",
                    "summary": "Choppy audio on outbound calls to Madrid",
                    "description": "Since 09:00 UTC, outbound calls break up every few seconds.",
                    "call_ids": ["c-20261125-0001", "c-20261125-0002"],
                    "affected_users": 3,
                    "reporting_system": "crm",
                    "affected": {"region": "eu-south", "carrier_route": "carrier-b"},
                }
            ]
        }
    )


class TicketAccepted(BaseModel):
    ticket_id: str
    url: str


class CommandAccepted(BaseModel):
    """Kafka holds the command; the workflow applies it shortly, in order for this ticket."""

    ticket_id: str
    command_id: str
    url: str


class ReopenAccepted(CommandAccepted):
    """A closed ticket stays closed: `ticket_id` is then a new follow-up of `follow_up_of`."""

    follow_up_of: str | None = None


class DevelopmentView(BaseModel):
    development_ticket_id: str
    summary: str
    status: DevelopmentStatus


class CustomerDevelopmentView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str
    status: DevelopmentStatus


class TicketView(BaseModel):
    """A ticket as agents and source systems see it. Every field is always present."""

    ticket_id: str
    status: TicketStatus
    customer_id: str
    category: Category
    summary: str
    description: str
    call_ids: list[str]
    affected_users: int
    reporting_system: str
    team: Team | None
    teams: list[Team]
    priority: Priority | None
    tier: str | None
    reopen_count: int
    development: DevelopmentView | None
    follow_up_of: str | None
    alternative_proposed: bool
    affected: AffectedService | None
    incident_id: Annotated[
        str | None, Field(description="The outage this ticket is part of, once linked")
    ]
    first_responded_at: datetime | None
    first_response_due: datetime | None
    next_update_due: datetime | None
    resolution_due: datetime | None
    close_due: datetime | None
    paused_since: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    created_at: datetime
    updated_at: datetime


class CustomerTicketView(BaseModel):
    """A ticket as its customer sees it: no tiers, involved teams or breach flags."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    status: TicketStatus
    customer_id: str
    category: Category
    summary: str
    description: str
    call_ids: list[str]
    affected_users: int
    reporting_system: str
    team: Team | None
    priority: Priority | None
    reopen_count: int
    development: CustomerDevelopmentView | None
    follow_up_of: str | None
    alternative_proposed: bool
    affected: AffectedService | None
    incident_id: Annotated[
        str | None, Field(description="The outage this ticket is part of, once linked")
    ]
    next_update_due: datetime | None
    resolution_due: datetime | None
    created_at: datetime
    updated_at: datetime


class TicketFilters(BaseModel):
    """Filters of the ticket list; each one narrows it, all of them together."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[
        list[TicketStatus],
        Field(max_length=len(TicketStatus), description="Any of these statuses (repeatable)"),
    ] = []
    team: Annotated[Team | None, Field(description="Owned by or involving this team")] = None
    priority: Priority | None = None
    breached: Annotated[
        bool | None, Field(description="true: a first-response or resolution SLA was missed")
    ] = None
    due_before: Annotated[
        Timestamp | None, Field(description="A clock fires at or before this time")
    ] = None
    call_id: Annotated[CallId | None, Field(description="A call ID the ticket carries")] = None
    customer_id: CustomerId | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class TransitionRefused(Problem):
    """The ticket's status does not allow the step; says what it does allow."""

    ticket_status: Annotated[TicketStatus, Field(description="The ticket's status now")]
    allowed_steps: list[Step]
    allowed_statuses: Annotated[
        list[TicketStatus], Field(description="Statuses an agent may set from here")
    ]
