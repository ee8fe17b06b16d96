"""`decide`: each command, from each status it may come in, and what it makes of the ticket."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from services.workflow.domain.lifecycle import TicketClosedError, decide
from shared.errors import DomainError, UnprocessableMessage
from shared.events import (
    WORKFLOW,
    AddCallIds,
    AddCustomerComment,
    AddInternalNote,
    AssignTicket,
    CallIdsAdded,
    ChangeStatus,
    ConfirmationRequested,
    ConfirmResolution,
    FixDeployed,
    PostPublicUpdate,
    ReportNotFixed,
    RequestDevelopment,
    StatusChanged,
    TicketAssigned,
    TicketCommand,
)
from shared.lifecycle import STEP_TO_REACH, TRANSITIONS, IllegalTransition, Step, allowed_steps
from shared.vocabulary import Team, TicketStatus
from tests.unit.examples import (
    AGENT,
    CUSTOMER,
    NOW,
    RESTING_STATUSES,
    command,
    decided,
    open_ticket_command,
    shipped_rules,
    ticket_at,
    type_of,
    types,
)

S = TicketStatus
LATER = NOW + timedelta(hours=1)
WINDOW = shipped_rules().confirmation.window

# What each step an agent takes by setting a status is called once it has happened.
EVENT_OF_STEP = {
    Step.START_INVESTIGATION: "InvestigationStarted",
    Step.REQUEST_CUSTOMER_INPUT: "CustomerInputRequested",
    Step.START_FIX: "FixStarted",
    Step.START_TESTING: "FixTestingStarted",
    Step.DEPLOY: "FixDeployed",
    Step.REQUEST_CONFIRMATION: "ConfirmationRequested",
    Step.CLOSE: "TicketClosed",
}
SETTABLE = [
    (status, target)
    for status in RESTING_STATUSES
    for target in STEP_TO_REACH
    if STEP_TO_REACH[target] in TRANSITIONS[status]
]
UNSETTABLE = [
    (status, target)
    for status in RESTING_STATUSES
    for target in STEP_TO_REACH
    if STEP_TO_REACH[target] not in TRANSITIONS[status]
]
NOT_SET_BY_HAND = [
    (status, target) for status in RESTING_STATUSES for target in S if target not in STEP_TO_REACH
]


def pair_id(pair: tuple[S, S]) -> str:
    return f"{pair[0].value}-to-{pair[1].value}"


def set_status(target: S) -> ChangeStatus:
    return command(ChangeStatus, status=target, at=LATER, reason="as agreed on the phone")


def test_the_examples_reach_every_status_a_ticket_rests_at() -> None:
    for status in RESTING_STATUSES:
        assert ticket_at(status).status is status


def test_every_settable_status_is_named() -> None:
    assert set(EVENT_OF_STEP) == set(STEP_TO_REACH.values())


@pytest.mark.parametrize(("status", "target"), SETTABLE, ids=[pair_id(p) for p in SETTABLE])
def test_setting_a_status_takes_the_step_the_table_allows(status: S, target: S) -> None:
    ticket = ticket_at(status)
    asked = set_status(target)
    step = STEP_TO_REACH[target]

    decision = decided(ticket, asked)

    first = decision.events[0]
    assert isinstance(first, StatusChanged)
    assert type_of(first) == EVENT_OF_STEP[step]
    assert (first.from_status, first.to_status) == (status, TRANSITIONS[status][step])
    assert (first.actor, first.reason, first.occurred_at) == (AGENT, asked.reason, LATER)
    deployed = step is Step.DEPLOY  # a deployed fix goes on to the customer for confirmation
    assert decision.ticket.status is (S.AWAITING_CONFIRMATION if deployed else target)
    assert decision.ticket.version == ticket.version + 1
    assert decision.ticket.updated_at == LATER


@pytest.mark.parametrize(("status", "target"), UNSETTABLE, ids=[pair_id(p) for p in UNSETTABLE])
def test_setting_a_status_the_table_does_not_allow_is_refused(status: S, target: S) -> None:
    with pytest.raises(IllegalTransition) as refused:
        decided(ticket_at(status), set_status(target))

    assert refused.value.allowed == allowed_steps(status)


@pytest.mark.parametrize(
    ("status", "target"), NOT_SET_BY_HAND, ids=[pair_id(p) for p in NOT_SET_BY_HAND]
)
def test_a_status_reached_only_by_its_own_command_cannot_be_set(status: S, target: S) -> None:
    with pytest.raises(IllegalTransition) as refused:
        decided(ticket_at(status), set_status(target))

    message = str(refused.value)
    assert f"cannot set the status to {target.value} while {status.value}" in message
    assert refused.value.allowed == allowed_steps(status)
    for step in allowed_steps(status):
        assert step.value in message


def test_resolved_is_reached_only_by_the_customer_confirming() -> None:
    with pytest.raises(IllegalTransition, match="set the status to resolved"):
        decided(ticket_at(S.AWAITING_CONFIRMATION), set_status(S.RESOLVED))

    confirmed = decided(ticket_at(S.AWAITING_CONFIRMATION), command(ConfirmResolution, by=CUSTOMER))
    assert confirmed.ticket.status is S.RESOLVED


def test_deploying_the_fix_asks_the_customer_to_confirm_within_the_window() -> None:
    decision = decided(ticket_at(S.TESTING), set_status(S.DEPLOYED))

    deployed, confirmation = decision.events
    assert isinstance(deployed, FixDeployed)
    assert (deployed.from_status, deployed.to_status, deployed.actor) == (
        S.TESTING,
        S.DEPLOYED,
        AGENT,
    )
    assert isinstance(confirmation, ConfirmationRequested)
    assert (confirmation.from_status, confirmation.to_status) == (
        S.DEPLOYED,
        S.AWAITING_CONFIRMATION,
    )
    assert (confirmation.actor, confirmation.reason) == (WORKFLOW, "fix deployed")
    assert confirmation.confirm_by == LATER + WINDOW
    assert decision.ticket.clocks.close_due == LATER + WINDOW


def test_an_agent_asking_for_confirmation_gives_the_customer_the_window() -> None:
    decision = decided(ticket_at(S.INVESTIGATING), set_status(S.AWAITING_CONFIRMATION))

    (requested,) = decision.events
    assert isinstance(requested, ConfirmationRequested)
    assert requested.confirm_by == LATER + WINDOW


@dataclass(frozen=True)
class Case:
    """A command arriving at a ticket in `status`, and what it must produce."""

    name: str
    status: S
    issue: Callable[[], TicketCommand]
    events: list[str]
    after: S


CASES = [
    Case(
        "agent-posts-an-update",
        S.INVESTIGATING,
        lambda: command(PostPublicUpdate, message="Still on it", at=LATER),
        ["PublicUpdatePosted"],
        S.INVESTIGATING,
    ),
    Case(
        "agent-notes-internally",
        S.FIX_IN_PROGRESS,
        lambda: command(AddInternalNote, text="Codec mismatch", at=LATER),
        ["InternalNoteAdded"],
        S.FIX_IN_PROGRESS,
    ),
    Case(
        "customer-comments-while-work-goes-on",
        S.INVESTIGATING,
        lambda: command(AddCustomerComment, message="Also Lisbon", by=CUSTOMER, at=LATER),
        ["CustomerCommented"],
        S.INVESTIGATING,
    ),
    Case(
        "customer-answers-the-question",
        S.WAITING_ON_CUSTOMER,
        lambda: command(AddCustomerComment, message="Since Monday", by=CUSTOMER, at=LATER),
        ["CustomerCommented", "CustomerResponded"],
        S.INVESTIGATING,
    ),
    Case(
        "development-asked-for-at-triage",
        S.TRIAGED,
        lambda: command(RequestDevelopment, summary="Patch the SBC", at=LATER),
        ["DevelopmentTicketOpened"],
        S.DEVELOPMENT,
    ),
    Case(
        "development-asked-for-while-investigating",
        S.INVESTIGATING,
        lambda: command(RequestDevelopment, summary="Patch the SBC", at=LATER),
        ["DevelopmentTicketOpened"],
        S.DEVELOPMENT,
    ),
    Case(
        "customer-confirms",
        S.AWAITING_CONFIRMATION,
        lambda: command(ConfirmResolution, comment="All good", by=CUSTOMER, at=LATER),
        ["ResolutionConfirmed"],
        S.RESOLVED,
    ),
    Case(
        "customer-reports-not-fixed",
        S.AWAITING_CONFIRMATION,
        lambda: command(ReportNotFixed, comment="Still choppy", by=CUSTOMER, at=LATER),
        ["TicketReopened", "TicketEscalated"],
        S.INVESTIGATING,
    ),
    Case(
        "customer-reopens-a-resolved-ticket",
        S.RESOLVED,
        lambda: command(ReportNotFixed, comment="It is back", by=CUSTOMER, at=LATER),
        ["TicketReopened", "TicketEscalated"],
        S.INVESTIGATING,
    ),
    Case(
        "agent-hands-over",
        S.TRIAGED,
        lambda: command(AssignTicket, team=Team.NUMBERING, at=LATER),
        ["TicketAssigned"],
        S.TRIAGED,
    ),
    Case(
        "agent-adds-call-ids",
        S.INVESTIGATING,
        lambda: command(AddCallIds, call_ids=["c-20261125-0002"], at=LATER),
        ["CallIdsAdded"],
        S.INVESTIGATING,
    ),
    Case(
        "agent-notes-on-a-closed-ticket",
        S.CLOSED,
        lambda: command(AddInternalNote, text="Customer called again", at=LATER),
        ["InternalNoteAdded"],
        S.CLOSED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_command_produces_its_events_and_moves_the_ticket(case: Case) -> None:
    ticket = ticket_at(case.status)
    issued = case.issue()

    decision = decided(ticket, issued)

    assert types(decision.events) == case.events
    assert decision.ticket.status is case.after
    assert decision.ticket.version == ticket.version + 1
    assert decision.ticket.updated_at == LATER
    first = decision.events[0]
    assert (first.actor, first.reason) == (issued.issued_by, issued.reason)
    for event in decision.events:
        assert event.occurred_at == LATER
        assert (event.ticket_id, event.customer_id) == (ticket.ticket_id, "acme-telecom")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_redelivered_command_gives_the_very_same_event_ids(case: Case) -> None:
    ticket = ticket_at(case.status)
    issued = case.issue()

    first = decide(ticket, issued, LATER, shipped_rules())
    again = decide(ticket, issued, LATER + timedelta(minutes=5), shipped_rules())

    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


def test_another_command_gives_other_event_ids() -> None:
    ticket = ticket_at(S.INVESTIGATING)

    one = decided(ticket, command(AddInternalNote, text="a", command_id="note:1"))
    other = decided(ticket, command(AddInternalNote, text="a", command_id="note:2"))

    assert one.events[0].event_id != other.events[0].event_id


def test_the_reason_given_is_carried_on_the_event() -> None:
    ticket = ticket_at(S.TRIAGED)
    asked = command(ChangeStatus, status=S.INVESTIGATING, reason="customer escalated by phone")

    (started,) = decided(ticket, asked).events

    assert started.reason == "customer escalated by phone"


REFUSALS: list[tuple[str, S, Callable[[], TicketCommand], type[DomainError]]] = [
    (
        "update-on-closed",
        S.CLOSED,
        lambda: command(PostPublicUpdate, message="Hi"),
        TicketClosedError,
    ),
    (
        "comment-on-closed",
        S.CLOSED,
        lambda: command(AddCustomerComment, message="Hi", by=CUSTOMER),
        TicketClosedError,
    ),
    (
        "assign-closed",
        S.CLOSED,
        lambda: command(AssignTicket, team=Team.LEVEL_1),
        TicketClosedError,
    ),
    ("reopen-closed", S.CLOSED, lambda: command(ReportNotFixed, by=CUSTOMER), IllegalTransition),
    ("reopen-open", S.TRIAGED, lambda: command(ReportNotFixed, by=CUSTOMER), IllegalTransition),
    (
        "confirm-unfinished",
        S.INVESTIGATING,
        lambda: command(ConfirmResolution, by=CUSTOMER),
        IllegalTransition,
    ),
    (
        "development-while-waiting",
        S.WAITING_ON_CUSTOMER,
        lambda: command(RequestDevelopment, summary="Patch"),
        IllegalTransition,
    ),
    (
        "development-while-testing",
        S.TESTING,
        lambda: command(RequestDevelopment, summary="Patch"),
        IllegalTransition,
    ),
]


@pytest.mark.parametrize(
    ("status", "issue", "error"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_command_the_status_forbids_is_refused(
    status: S, issue: Callable[[], TicketCommand], error: type[DomainError]
) -> None:
    with pytest.raises(error):
        decided(ticket_at(status), issue())


def test_a_command_for_a_ticket_that_does_not_exist_is_unprocessable() -> None:
    with pytest.raises(UnprocessableMessage, match="ChangeStatus for unknown ticket"):
        decide(None, set_status(S.INVESTIGATING), LATER, shipped_rules())


def test_opening_a_ticket_that_exists_changes_nothing() -> None:
    ticket = ticket_at(S.INVESTIGATING)

    decision = decide(ticket, open_ticket_command(), LATER, shipped_rules())

    assert decision.events == ()
    assert decision.ticket == ticket


def test_only_call_ids_not_yet_known_are_added_once_each() -> None:
    ticket = ticket_at(S.INVESTIGATING)
    known = ticket.details.call_ids[0]
    asked = command(AddCallIds, call_ids=[known, "c-2", "c-3", "c-2"])

    decision = decided(ticket, asked)

    (added,) = decision.events
    assert isinstance(added, CallIdsAdded)
    assert added.call_ids == ["c-2", "c-3"]
    assert decision.ticket.details.call_ids == [known, "c-2", "c-3"]


def test_call_ids_all_known_already_add_nothing() -> None:
    ticket = ticket_at(S.INVESTIGATING)

    decision = decided(ticket, command(AddCallIds, call_ids=ticket.details.call_ids))

    assert decision.events == ()
    assert decision.ticket == ticket


def test_call_ids_beyond_what_a_ticket_may_carry_are_refused() -> None:
    ticket = ticket_at(S.INVESTIGATING)
    many = [f"c-{n}" for n in range(100)]

    with pytest.raises(UnprocessableMessage, match="call_ids"):
        decided(ticket, command(AddCallIds, call_ids=many))


def test_handing_a_ticket_over_keeps_the_earlier_team_involved() -> None:
    ticket = ticket_at(S.TRIAGED)

    decision = decided(ticket, command(AssignTicket, team=Team.NUMBERING))

    (assigned,) = decision.events
    assert isinstance(assigned, TicketAssigned)
    assert (assigned.team, assigned.teams) == (Team.NUMBERING, [Team.LEVEL_2, Team.NUMBERING])
    assert (decision.ticket.team, decision.ticket.teams) == (assigned.team, assigned.teams)


def test_involving_more_teams_keeps_the_owner() -> None:
    ticket = ticket_at(S.INVESTIGATING)
    asked = command(AssignTicket, add_teams=[Team.TELECOM_ENGINEERING, Team.DEVELOPMENT])

    decision = decided(ticket, asked)

    assert decision.ticket.team is Team.LEVEL_2
    assert decision.ticket.teams == [Team.DEVELOPMENT, Team.LEVEL_2, Team.TELECOM_ENGINEERING]


def test_an_assignment_with_nothing_new_emits_nothing() -> None:
    ticket = ticket_at(S.INVESTIGATING)
    asked = command(AssignTicket, team=ticket.team, add_teams=ticket.teams)

    decision = decided(ticket, asked)

    assert decision.events == ()
    assert decision.ticket == ticket


def test_a_closed_ticket_still_takes_internal_notes_but_nothing_for_the_customer() -> None:
    closed = ticket_at(S.CLOSED)

    noted = decided(closed, command(AddInternalNote, text="Customer called again"))

    assert types(noted.events) == ["InternalNoteAdded"]
    assert noted.ticket.status is S.CLOSED
    with pytest.raises(TicketClosedError, match="is closed"):
        decided(closed, command(PostPublicUpdate, message="Hello again"))
    with pytest.raises(TicketClosedError, match="is closed"):
        decided(closed, command(AddCustomerComment, message="Hello?", by=CUSTOMER))
