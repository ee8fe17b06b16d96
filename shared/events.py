"""The Kafka contract: versioned commands and events, each with a `type` discriminator."""

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shared.vocabulary import (
    CallId,
    Category,
    CustomerId,
    DevelopmentStatus,
    IncidentId,
    NumberRange,
    Priority,
    Role,
    SlaClock,
    Slug,
    Team,
    TicketId,
    TicketStatus,
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


class AffectedService(ValueObject):
    """Which of the customer's services the problem is on: how outages find their tickets."""

    region: Slug | None = None
    carrier_route: Slug | None = None
    number_range: NumberRange | None = None
    product: Slug | None = None


class TicketDetails(ValueObject):
    """What a reporter tells us about a problem."""

    customer_id: CustomerId
    category: Category
    summary: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    call_ids: Annotated[list[CallId], Field(max_length=100)] = []
    affected_users: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    reporting_system: Annotated[str, Field(min_length=1, max_length=64)]
    affected: AffectedService | None = None

    @field_validator("call_ids")
    @classmethod
    def _distinct_call_ids(cls, call_ids: list[str]) -> list[str]:
        return list(dict.fromkeys(call_ids))


Text = Annotated[str, Field(min_length=1, max_length=5_000)]
Reason = Annotated[str, Field(max_length=1_000)]


# Commands: requests to change a ticket, in the imperative. intake and the workflow's own
# scheduler publish them; the workflow decides whether they become facts.


class Command(Contract):
    command_id: str
    issued_at: AwareDatetime
    issued_by: Actor
    ticket_id: TicketId
    reason: Reason = ""


class OpenTicket(Command):
    """Open a ticket for a reported problem, possibly as the follow-up of a closed one."""

    type: Literal["OpenTicket"] = "OpenTicket"
    details: TicketDetails
    request_hash: Annotated[str, Field(min_length=64, max_length=64)]
    follow_up_of: TicketId | None = None


class AssignTicket(Command):
    """Hand the ticket to another owning team and/or involve more teams."""

    type: Literal["AssignTicket"] = "AssignTicket"
    team: Team | None = None
    add_teams: Annotated[list[Team], Field(max_length=len(Team))] = []


class ChangeStatus(Command):
    type: Literal["ChangeStatus"] = "ChangeStatus"
    status: TicketStatus


class PostPublicUpdate(Command):
    """A message from support to the customer."""

    type: Literal["PostPublicUpdate"] = "PostPublicUpdate"
    message: Text


class AddInternalNote(Command):
    """A note for agents only; never sent to the customer."""

    type: Literal["AddInternalNote"] = "AddInternalNote"
    text: Text


class AddCustomerComment(Command):
    """The customer writes; if the ticket was waiting on them, work resumes."""

    type: Literal["AddCustomerComment"] = "AddCustomerComment"
    message: Text


class AddCallIds(Command):
    type: Literal["AddCallIds"] = "AddCallIds"
    call_ids: Annotated[list[CallId], Field(min_length=1, max_length=100)]


class RequestDevelopment(Command):
    """A code change is needed: open a linked development ticket."""

    type: Literal["RequestDevelopment"] = "RequestDevelopment"
    summary: Text


class RecordDevelopmentProgress(Command):
    """The development tracker reports its ticket moved on."""

    type: Literal["RecordDevelopmentProgress"] = "RecordDevelopmentProgress"
    development_ticket_id: str
    status: Literal[
        DevelopmentStatus.FIX_IN_PROGRESS, DevelopmentStatus.TESTING, DevelopmentStatus.DEPLOYED
    ]


class ConfirmResolution(Command):
    type: Literal["ConfirmResolution"] = "ConfirmResolution"
    comment: Reason = ""


class ReportNotFixed(Command):
    type: Literal["ReportNotFixed"] = "ReportNotFixed"
    comment: Reason = ""


class LinkToIncident(Command):
    """Issued by the workflow: the ticket is part of a known outage; it takes top priority."""

    type: Literal["LinkToIncident"] = "LinkToIncident"
    incident_id: IncidentId
    title: Annotated[str, Field(min_length=1, max_length=200)]
    message: Text
    priority: Priority


class ResolveWithIncident(Command):
    """Issued by the workflow: the outage behind the ticket is over; the customer confirms."""

    type: Literal["ResolveWithIncident"] = "ResolveWithIncident"
    incident_id: IncidentId
    message: Text


class FireDueTimers(Command):
    """Issued by the SLA scheduler: apply whatever clocks of this ticket are due now."""

    type: Literal["FireDueTimers"] = "FireDueTimers"


# Events: facts, in the past tense. Each says who did it (`actor`), when and why.


class Event(Contract):
    event_id: str
    occurred_at: AwareDatetime
    ticket_id: TicketId
    customer_id: CustomerId
    actor: Actor
    reason: Reason = ""

    customer_visible: ClassVar[bool] = False


class TicketOpened(Event):
    type: Literal["TicketOpened"] = "TicketOpened"
    details: TicketDetails
    follow_up_of: TicketId | None = None
    customer_visible: ClassVar[bool] = True


class TicketTriaged(Event):
    type: Literal["TicketTriaged"] = "TicketTriaged"
    team: Team
    priority: Priority
    tier: str


class TicketAssigned(Event):
    type: Literal["TicketAssigned"] = "TicketAssigned"
    team: Team
    teams: list[Team]


class StatusChanged(Event):
    """A move in the lifecycle; the subclasses name which."""

    from_status: TicketStatus
    to_status: TicketStatus
    customer_visible: ClassVar[bool] = True


class InvestigationStarted(StatusChanged):
    type: Literal["InvestigationStarted"] = "InvestigationStarted"


class CustomerInputRequested(StatusChanged):
    type: Literal["CustomerInputRequested"] = "CustomerInputRequested"


class CustomerResponded(StatusChanged):
    type: Literal["CustomerResponded"] = "CustomerResponded"
    customer_visible: ClassVar[bool] = False  # the customer wrote it; they know


class DevelopmentTicketOpened(StatusChanged):
    type: Literal["DevelopmentTicketOpened"] = "DevelopmentTicketOpened"
    development_ticket_id: str
    summary: Text


class FixStarted(StatusChanged):
    type: Literal["FixStarted"] = "FixStarted"
    development_ticket_id: str | None = None


class FixTestingStarted(StatusChanged):
    type: Literal["FixTestingStarted"] = "FixTestingStarted"
    development_ticket_id: str | None = None


class FixDeployed(StatusChanged):
    type: Literal["FixDeployed"] = "FixDeployed"
    development_ticket_id: str | None = None
    # Always followed at once by ConfirmationRequested, whose message says both.
    customer_visible: ClassVar[bool] = False


class ConfirmationRequested(StatusChanged):
    type: Literal["ConfirmationRequested"] = "ConfirmationRequested"
    confirm_by: AwareDatetime


class ResolutionConfirmed(StatusChanged):
    type: Literal["ResolutionConfirmed"] = "ResolutionConfirmed"
    comment: Reason = ""


class TicketReopened(StatusChanged):
    type: Literal["TicketReopened"] = "TicketReopened"
    reopen_count: int
    comment: Reason = ""


class TicketClosed(StatusChanged):
    type: Literal["TicketClosed"] = "TicketClosed"


class ResolvedWithIncident(StatusChanged):
    """The outage behind the ticket was resolved: the customer confirms or reopens as usual."""

    type: Literal["ResolvedWithIncident"] = "ResolvedWithIncident"
    incident_id: IncidentId
    message: Text
    confirm_by: AwareDatetime


class TicketLinkedToIncident(Event):
    """The ticket is part of a known outage: the customer hears it is known and worked on."""

    type: Literal["TicketLinkedToIncident"] = "TicketLinkedToIncident"
    incident_id: IncidentId
    title: Annotated[str, Field(min_length=1, max_length=200)]
    message: Text
    from_priority: Priority
    priority: Priority
    customer_visible: ClassVar[bool] = True


class PublicUpdatePosted(Event):
    type: Literal["PublicUpdatePosted"] = "PublicUpdatePosted"
    message: Text
    customer_visible: ClassVar[bool] = True


class InternalNoteAdded(Event):
    type: Literal["InternalNoteAdded"] = "InternalNoteAdded"
    text: Text


class CustomerCommented(Event):
    type: Literal["CustomerCommented"] = "CustomerCommented"
    message: Text


class CallIdsAdded(Event):
    type: Literal["CallIdsAdded"] = "CallIdsAdded"
    call_ids: list[CallId]


class ProgressUpdateSent(Event):
    """The keep-in-loop clock ran out with no news: the customer hears we are still on it."""

    type: Literal["ProgressUpdateSent"] = "ProgressUpdateSent"
    next_update_by: AwareDatetime
    customer_visible: ClassVar[bool] = True


class SlaBreached(Event):
    type: Literal["SlaBreached"] = "SlaBreached"
    clock: SlaClock
    due_at: AwareDatetime
    priority: Priority | None = None  # the ticket's when it breached; absent on older events


class TicketEscalated(Event):
    type: Literal["TicketEscalated"] = "TicketEscalated"
    from_tier: str
    to_tier: str
    customer_visible: ClassVar[bool] = True


class AlternativeProposed(Event):
    """The problem persists: an alternative solution is offered, e.g. porting the number."""

    type: Literal["AlternativeProposed"] = "AlternativeProposed"
    alternative: Text
    customer_visible: ClassVar[bool] = True


TicketCommand = Annotated[
    OpenTicket
    | AssignTicket
    | ChangeStatus
    | PostPublicUpdate
    | AddInternalNote
    | AddCustomerComment
    | AddCallIds
    | RequestDevelopment
    | RecordDevelopmentProgress
    | ConfirmResolution
    | ReportNotFixed
    | LinkToIncident
    | ResolveWithIncident
    | FireDueTimers,
    Field(discriminator="type"),
]
TicketEvent = Annotated[
    TicketOpened
    | TicketTriaged
    | TicketAssigned
    | InvestigationStarted
    | CustomerInputRequested
    | CustomerResponded
    | DevelopmentTicketOpened
    | FixStarted
    | FixTestingStarted
    | FixDeployed
    | ConfirmationRequested
    | ResolutionConfirmed
    | TicketReopened
    | TicketClosed
    | PublicUpdatePosted
    | InternalNoteAdded
    | CustomerCommented
    | CallIdsAdded
    | ProgressUpdateSent
    | SlaBreached
    | TicketEscalated
    | AlternativeProposed
    | TicketLinkedToIncident
    | ResolvedWithIncident,
    Field(discriminator="type"),
]
# What a development tracker integration consumes, on its own topic as well.
DevelopmentEvent = Annotated[
    DevelopmentTicketOpened | FixStarted | FixTestingStarted | FixDeployed,
    Field(discriminator="type"),
]

ticket_command_adapter: TypeAdapter[TicketCommand] = TypeAdapter(TicketCommand)
ticket_event_adapter: TypeAdapter[TicketEvent] = TypeAdapter(TicketEvent)
