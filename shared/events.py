"""The Kafka contract: versioned commands and events, each with a `type` discriminator."""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shared.vocabulary import (
    CallId,
    Category,
    CustomerId,
    Priority,
    Role,
    Team,
    TicketId,
)


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contract(ValueObject):
    """A top-level message on a topic: versioned."""

    schema_version: Literal[1] = 1


class Actor(ValueObject):
    """Who did something: a source system, an agent, a customer, or the workflow itself."""

    role: Role | Literal["workflow"]
    name: Annotated[str, Field(min_length=1, max_length=128)]


WORKFLOW = Actor(role="workflow", name="workflow")


class TicketDetails(ValueObject):
    """What a reporter tells us about a problem."""

    customer_id: CustomerId
    category: Category
    summary: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    call_ids: Annotated[list[CallId], Field(max_length=100)] = []
    affected_users: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    reporting_system: Annotated[str, Field(min_length=1, max_length=64)]

    @field_validator("call_ids")
    @classmethod
    def _distinct_call_ids(cls, call_ids: list[str]) -> list[str]:
        return list(dict.fromkeys(call_ids))


class Command(Contract):
    command_id: str
    issued_at: AwareDatetime
    issued_by: Actor
    ticket_id: TicketId


class OpenTicket(Command):
    """Open a ticket for a reported problem (imperative: a request, not yet a fact)."""

    type: Literal["OpenTicket"] = "OpenTicket"
    details: TicketDetails
    request_hash: Annotated[str, Field(min_length=64, max_length=64)]


class Event(Contract):
    event_id: str
    occurred_at: AwareDatetime
    ticket_id: TicketId
    customer_id: CustomerId
    actor: Actor
    reason: str = ""


class TicketOpened(Event):
    type: Literal["TicketOpened"] = "TicketOpened"
    details: TicketDetails


class TicketTriaged(Event):
    type: Literal["TicketTriaged"] = "TicketTriaged"
    team: Team
    priority: Priority


TicketCommand = OpenTicket
TicketEvent = Annotated[TicketOpened | TicketTriaged, Field(discriminator="type")]

ticket_command_adapter: TypeAdapter[TicketCommand] = TypeAdapter(TicketCommand)
ticket_event_adapter: TypeAdapter[TicketEvent] = TypeAdapter(TicketEvent)
