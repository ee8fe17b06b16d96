"""`decide`: the pure core of the workflow. A ticket and a command in; new state and events out."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.workflow.domain.rules import Rules
from services.workflow.domain.sla import at_priority, pause, resume
from services.workflow.domain.tickets import (
    Decision,
    DevelopmentTicket,
    Ticket,
    event_id_for,
    open_ticket,
)
from shared.errors import DomainError, UnprocessableMessage
from shared.events import (
    WORKFLOW,
    Actor,
    AddCallIds,
    AddCustomerComment,
    AddInternalNote,
    AlternativeProposed,
    AssignTicket,
    CallIdsAdded,
    ChangeStatus,
    Command,
    ConfirmationRequested,
    ConfirmResolution,
    CustomerCommented,
    CustomerInputRequested,
    CustomerResponded,
    DevelopmentTicketOpened,
    Event,
    FireDueTimers,
    FixDeployed,
    FixStarted,
    FixTestingStarted,
    InternalNoteAdded,
    InvestigationStarted,
    LinkToIncident,
    OpenTicket,
    PostPublicUpdate,
    ProgressUpdateSent,
    PublicUpdatePosted,
    RecordDevelopmentProgress,
    ReportNotFixed,
    RequestDevelopment,
    ResolutionConfirmed,
    ResolvedWithIncident,
    ResolveWithIncident,
    SlaBreached,
    StatusChanged,
    TicketAssigned,
    TicketClosed,
    TicketCommand,
    TicketDetails,
    TicketEscalated,
    TicketLinkedToIncident,
    TicketReopened,
)
from shared.lifecycle import (
    CLOCKS_PAUSED,
    CLOCKS_STOPPED,
    DEVELOPMENT_STEPS,
    STEP_TO_REACH,
    IllegalTransition,
    Step,
    next_status,
)
from shared.vocabulary import (
    DevelopmentStatus,
    Priority,
    Role,
    SlaClock,
    Team,
    TicketStatus,
    development_ticket_id,
)

STEP_EVENTS: dict[Step, type[StatusChanged]] = {
    Step.START_INVESTIGATION: InvestigationStarted,
    Step.REQUEST_CUSTOMER_INPUT: CustomerInputRequested,
    Step.CUSTOMER_RESPONDED: CustomerResponded,
    Step.OPEN_DEVELOPMENT: DevelopmentTicketOpened,
    Step.START_FIX: FixStarted,
    Step.START_TESTING: FixTestingStarted,
    Step.DEPLOY: FixDeployed,
    Step.REQUEST_CONFIRMATION: ConfirmationRequested,
    Step.CONFIRM_RESOLUTION: ResolutionConfirmed,
    Step.REOPEN: TicketReopened,
    Step.CLOSE: TicketClosed,
    Step.RESOLVE_WITH_INCIDENT: ResolvedWithIncident,
}


PRIORITY_ORDER = list(Priority)  # the most urgent first


class TicketClosedError(DomainError):
    """The ticket is closed: nothing more happens to it; a new report becomes a follow-up."""


def decide(ticket: Ticket | None, command: TicketCommand, now: datetime, rules: Rules) -> Decision:
    """The new state and the events a command produces; raises a DomainError to refuse it."""
    if isinstance(command, OpenTicket):
        return open_ticket(command, now, rules) if ticket is None else Decision(ticket, ())
    if ticket is None:
        raise UnprocessableMessage(f"{command.type} for unknown ticket {command.ticket_id}")
    change = Change(ticket, command, now, rules)
    HANDLERS[type(command)](change, command)
    return change.decision()


class Change:
    """The ticket as a command changes it, and the events emitted on the way."""

    def __init__(self, ticket: Ticket, command: Command, now: datetime, rules: Rules) -> None:
        self.ticket, self.command, self.now, self.rules = ticket, command, now, rules
        self.events: list[Event] = []

    def emit(self, event_type: type[Event], actor: Actor | None = None, **fields: Any) -> None:
        event = event_type(
            event_id=event_id_for(self.command.command_id, len(self.events)),
            occurred_at=self.now,
            ticket_id=self.ticket.ticket_id,
            customer_id=self.ticket.details.customer_id,
            actor=actor or self.command.issued_by,
            reason=fields.pop("reason", self.command.reason),
            **fields,
        )
        self.events.append(event)

    def update(self, **changes: Any) -> None:
        self.ticket = self.ticket.model_copy(update=changes)

    def clocks(self, **changes: Any) -> None:
        self.update(clocks=self.ticket.clocks.model_copy(update=changes))

    def move(self, step: Step, actor: Actor | None = None, **fields: Any) -> None:
        """Take one lifecycle step: refused with the allowed steps if the status forbids it."""
        before = self.ticket.status
        after = next_status(before, step)
        self.emit(STEP_EVENTS[step], actor, from_status=before, to_status=after, **fields)
        self.update(status=after)
        self._clocks_follow(before, after)

    def _clocks_follow(self, before: TicketStatus, after: TicketStatus) -> None:
        clocks = self.ticket.clocks
        if after in CLOCKS_PAUSED:
            clocks = pause(clocks, self.now)
        elif before in CLOCKS_PAUSED:
            clocks = resume(clocks, self.now)
        confirmation = self.rules.confirmation
        if after is TicketStatus.AWAITING_CONFIRMATION:
            clocks = clocks.model_copy(update={"close_due": self.now + confirmation.window})
        elif after is TicketStatus.RESOLVED:
            update = {"close_due": self.now + confirmation.close_resolved_after}
            clocks = clocks.model_copy(update=update)
        elif after is TicketStatus.CLOSED:
            stopped = dict.fromkeys(["close_due", "next_update_due", "first_response_due"])
            clocks = clocks.model_copy(update={**stopped, "resolution_due": None})
        elif before in CLOCKS_STOPPED:  # reopened: work and keep-in-loop resume
            clocks = clocks.model_copy(update={"close_due": None})
        self.update(clocks=clocks)

    def escalate(self, reason: str) -> None:
        higher = self.rules.escalation.next_tier(self.ticket.tier)
        if higher is not None:
            self.emit(
                TicketEscalated, WORKFLOW, from_tier=self.ticket.tier, to_tier=higher, reason=reason
            )
            self.update(tier=higher)

    def propose_alternative(self, reason: str) -> None:
        if not self.ticket.alternative_proposed:
            alternative = self.rules.persistence.alternative_for(self.ticket.details.category)
            self.emit(AlternativeProposed, WORKFLOW, alternative=alternative, reason=reason)
            self.update(alternative_proposed=True)

    def decision(self) -> Decision:
        if not self.events:
            return Decision(self.ticket, ())
        self._customer_heard_from_support()
        self.update(version=self.ticket.version + 1, updated_at=self.now)
        return Decision(self.ticket, tuple(self.events))

    def _customer_heard_from_support(self) -> None:
        """A customer-visible step restarts keep-in-loop; an agent's first one is the response."""
        visible = [e for e in self.events if e.customer_visible]
        # Asking the customer a question or to confirm is a response too, though it pauses
        # or stops the other clocks.
        if self.ticket.first_responded_at is None and any(
            e.actor.role is Role.AGENT for e in visible
        ):
            self.update(first_responded_at=self.now)
            self.clocks(first_response_due=None)
        if not visible or self.ticket.status in CLOCKS_STOPPED | CLOCKS_PAUSED:
            if self.ticket.status in CLOCKS_STOPPED:
                self.clocks(next_update_due=None)
            return
        cadence = self.rules.sla.targets(self.ticket.priority, self.ticket.details.category)
        self.clocks(next_update_due=self.now + cadence.keep_in_loop)


def next_timer(ticket: Ticket) -> datetime | None:
    """When the scheduler must next fire this ticket's clocks; None if nothing can fire."""
    return ticket.clocks.next_due(stopped=ticket.status in CLOCKS_STOPPED)


def _refuse_if_closed(change: Change) -> None:
    if change.ticket.status is TicketStatus.CLOSED:
        raise TicketClosedError(f"ticket {change.ticket.ticket_id} is closed")


def _assign(change: Change, command: AssignTicket) -> None:
    _refuse_if_closed(change)
    team = command.team or change.ticket.team
    teams = sorted({*change.ticket.teams, team, *command.add_teams})
    if team == change.ticket.team and teams == sorted(change.ticket.teams):
        return  # nothing changes: a redelivery, or a no-op request
    change.emit(TicketAssigned, team=team, teams=teams)
    change.update(team=team, teams=teams)


def _change_status(change: Change, command: ChangeStatus) -> None:
    step = STEP_TO_REACH.get(command.status)
    if step is None:
        raise IllegalTransition(change.ticket.status, f"set the status to {command.status.value}")
    _take(change, step)


def _take(change: Change, step: Step) -> None:
    if step is Step.REQUEST_CONFIRMATION:
        confirm_by = change.now + change.rules.confirmation.window
        change.move(step, confirm_by=confirm_by)
    else:
        change.move(step)
    if step is Step.DEPLOY:  # a deployed fix goes straight to the customer for confirmation
        change.move(
            Step.REQUEST_CONFIRMATION,
            WORKFLOW,
            confirm_by=change.now + change.rules.confirmation.window,
            reason="fix deployed",
        )


def _post_public_update(change: Change, command: PostPublicUpdate) -> None:
    _refuse_if_closed(change)
    change.emit(PublicUpdatePosted, message=command.message)


def _add_internal_note(change: Change, command: AddInternalNote) -> None:
    change.emit(InternalNoteAdded, text=command.text)


def _add_customer_comment(change: Change, command: AddCustomerComment) -> None:
    _refuse_if_closed(change)
    change.emit(CustomerCommented, message=command.message)
    if change.ticket.status is TicketStatus.WAITING_ON_CUSTOMER:
        change.move(Step.CUSTOMER_RESPONDED)


def _add_call_ids(change: Change, command: AddCallIds) -> None:
    known = change.ticket.details.call_ids
    new = [call for call in dict.fromkeys(command.call_ids) if call not in known]
    if not new:
        return
    try:  # validated, so a ticket never holds what it could not be loaded back with
        details = TicketDetails.model_validate(
            {**change.ticket.details.model_dump(), "call_ids": known + new}
        )
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]["msg"]
        raise UnprocessableMessage(
            f"ticket {change.ticket.ticket_id} cannot take {len(new)} more call_ids: {problem}"
        ) from error
    change.emit(CallIdsAdded, call_ids=new)
    change.update(details=details)


def _request_development(change: Change, command: RequestDevelopment) -> None:
    development_id = development_ticket_id(command.command_id)
    change.move(
        Step.OPEN_DEVELOPMENT, development_ticket_id=development_id, summary=command.summary
    )
    development = DevelopmentTicket(
        development_ticket_id=development_id,
        summary=command.summary,
        status=DevelopmentStatus.OPEN,
        opened_at=change.now,
    )
    teams = sorted({*change.ticket.teams, Team.DEVELOPMENT})
    change.update(development=development, teams=teams)


def _record_development_progress(change: Change, command: RecordDevelopmentProgress) -> None:
    development = change.ticket.development
    if development is None or development.development_ticket_id != command.development_ticket_id:
        raise UnprocessableMessage(
            f"ticket {change.ticket.ticket_id} has no development ticket "
            f"{command.development_ticket_id}"
        )
    if development.status is command.status:
        return  # the tracker told us twice
    step = DEVELOPMENT_STEPS[command.status]
    change.move(step, development_ticket_id=development.development_ticket_id)
    change.update(development=development.model_copy(update={"status": command.status}))
    if step is Step.DEPLOY:
        change.move(
            Step.REQUEST_CONFIRMATION,
            WORKFLOW,
            confirm_by=change.now + change.rules.confirmation.window,
            reason="fix deployed",
        )


def _confirm_resolution(change: Change, command: ConfirmResolution) -> None:
    change.move(Step.CONFIRM_RESOLUTION, comment=command.comment)


def _report_not_fixed(change: Change, command: ReportNotFixed) -> None:
    reopened = change.ticket.reopen_count + 1
    change.move(Step.REOPEN, reopen_count=reopened, comment=command.comment)
    change.update(reopen_count=reopened)
    change.escalate(reason="the customer reports the problem is not fixed")
    if reopened >= change.rules.persistence.reopen_threshold:
        change.propose_alternative(reason=f"reopened {reopened} times")


def _fire_due_timers(change: Change, _command: FireDueTimers) -> None:
    """Whatever is due fires once: each fired clock moves on or stops in the same write."""
    clocks, now, status = change.ticket.clocks, change.now, change.ticket.status
    if clocks.paused:
        return
    if clocks.close_due is not None and clocks.close_due <= now:
        reason = "resolved" if status is TicketStatus.RESOLVED else "no answer within the window"
        change.move(Step.CLOSE, WORKFLOW, reason=reason)
        return
    if status in CLOCKS_STOPPED:
        return
    if clocks.first_response_due is not None and clocks.first_response_due <= now:
        _breach(change, SlaClock.FIRST_RESPONSE, clocks.first_response_due)
        change.clocks(first_response_due=None, first_response_breached=True)
    if (
        clocks.resolution_due is not None
        and clocks.resolution_due <= now
        and not clocks.resolution_breached
    ):
        _breach(change, SlaClock.RESOLUTION, clocks.resolution_due)
        change.clocks(resolution_breached=True)
        if change.rules.persistence.propose_on_resolution_breach:
            change.propose_alternative(reason="open past its resolution target")
    if clocks.next_update_due is not None and clocks.next_update_due <= now:
        cadence = change.rules.sla.targets(change.ticket.priority, change.ticket.details.category)
        next_update = now + cadence.keep_in_loop
        change.emit(ProgressUpdateSent, WORKFLOW, next_update_by=next_update)
        change.clocks(next_update_due=next_update)


def _link_to_incident(change: Change, command: LinkToIncident) -> None:
    """Part of a known outage: the customer hears so, and the ticket takes the outage's priority.

    Linked already, or its work already done: nothing to do, so a repeated link is harmless.
    """
    ticket = change.ticket
    if ticket.incident_id == command.incident_id or ticket.status in CLOCKS_STOPPED:
        return
    priority = min(ticket.priority, command.priority, key=PRIORITY_ORDER.index)
    change.emit(
        TicketLinkedToIncident,
        incident_id=command.incident_id,
        title=command.title,
        message=command.message,
        from_priority=ticket.priority,
        priority=priority,
    )
    change.update(incident_id=command.incident_id)
    if priority is not ticket.priority:
        targets = change.rules.sla.targets(priority, ticket.details.category)
        change.update(priority=priority, clocks=at_priority(ticket.clocks, targets, change.now))


def _resolve_with_incident(change: Change, command: ResolveWithIncident) -> None:
    """The outage is over: the customer confirms or reopens, as after any fix."""
    ticket = change.ticket
    if ticket.incident_id != command.incident_id or ticket.status in CLOCKS_STOPPED:
        return
    change.move(
        Step.RESOLVE_WITH_INCIDENT,
        incident_id=command.incident_id,
        message=command.message,
        confirm_by=change.now + change.rules.confirmation.window,
    )


def _breach(change: Change, clock: SlaClock, due_at: datetime) -> None:
    change.emit(
        SlaBreached,
        WORKFLOW,
        clock=clock,
        due_at=due_at,
        priority=change.ticket.priority,
        reason=f"{clock.value} target missed",
    )
    change.escalate(reason=f"{clock.value} target missed")


HANDLERS: dict[type[Command], Callable[[Change, Any], None]] = {
    AssignTicket: _assign,
    ChangeStatus: _change_status,
    PostPublicUpdate: _post_public_update,
    AddInternalNote: _add_internal_note,
    AddCustomerComment: _add_customer_comment,
    AddCallIds: _add_call_ids,
    RequestDevelopment: _request_development,
    RecordDevelopmentProgress: _record_development_progress,
    ConfirmResolution: _confirm_resolution,
    ReportNotFixed: _report_not_fixed,
    LinkToIncident: _link_to_incident,
    ResolveWithIncident: _resolve_with_incident,
    FireDueTimers: _fire_due_timers,
}
