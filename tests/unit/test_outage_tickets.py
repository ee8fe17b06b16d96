"""A ticket and its outage: linked while it is worked on, at the outage's priority, and resolved
with it for the customer to confirm, from every status the lifecycle allows."""

from datetime import timedelta

import pytest

from services.workflow.domain.lifecycle import next_timer
from services.workflow.domain.tickets import Ticket
from shared.events import (
    WORKFLOW,
    ChangeStatus,
    ConfirmResolution,
    LinkToIncident,
    ReportNotFixed,
    ResolvedWithIncident,
    ResolveWithIncident,
    TicketCommand,
    TicketLinkedToIncident,
)
from shared.lifecycle import CLOCKS_STOPPED
from shared.vocabulary import Category, Priority, TicketStatus
from tests.unit.examples import (
    CUSTOMER,
    NOW,
    RESTING_STATUSES,
    apply,
    command,
    decided,
    fired,
    shipped_rules,
    ticket_at,
    types,
)

S = TicketStatus
INCIDENT = "INC-0123456789ABCDEF"
OTHER_INCIDENT = "INC-FEDCBA9876543210"
WORKED_ON = [status for status in RESTING_STATUSES if status not in CLOCKS_STOPPED]
DONE = [status for status in RESTING_STATUSES if status in CLOCKS_STOPPED]
RULES = shipped_rules()
LATER = NOW + timedelta(minutes=10)


def link(
    incident_id: str = INCIDENT, priority: Priority = Priority.P1, at: timedelta = timedelta(0)
) -> LinkToIncident:
    return command(
        LinkToIncident,
        by=WORKFLOW,
        at=LATER + at,
        command_id=f"link:{incident_id}:{at}",
        incident_id=incident_id,
        title="Calls fail in eu-west",
        message="Calls in eu-west fail; engineers are on it.",
        priority=priority,
    )


def resolve(incident_id: str = INCIDENT) -> ResolveWithIncident:
    return command(
        ResolveWithIncident,
        by=WORKFLOW,
        at=LATER + timedelta(hours=1),
        incident_id=incident_id,
        message="Calls go through again.",
    )


def linked_at(status: S, category: Category = Category.CALL_QUALITY) -> Ticket:
    return apply(ticket_at(status, category), link())


@pytest.mark.parametrize("status", WORKED_ON, ids=[s.value for s in WORKED_ON])
def test_a_ticket_being_worked_on_is_linked_at_the_outage_priority(status: S) -> None:
    ticket = ticket_at(status)

    decision = decided(ticket, link())

    (event,) = decision.events
    assert isinstance(event, TicketLinkedToIncident)
    assert (event.incident_id, event.title, event.actor) == (
        INCIDENT,
        "Calls fail in eu-west",
        WORKFLOW,
    )
    assert (event.from_priority, event.priority) == (Priority.P2, Priority.P1)
    assert decision.ticket.incident_id == INCIDENT
    assert decision.ticket.priority is Priority.P1
    assert decision.ticket.status is status


@pytest.mark.parametrize("status", DONE, ids=[s.value for s in DONE])
def test_a_ticket_whose_work_is_done_is_not_linked(status: S) -> None:
    ticket = ticket_at(status)

    decision = decided(ticket, link())

    assert decision.events == ()
    assert decision.ticket == ticket


def test_a_ticket_linked_already_is_not_linked_again() -> None:
    ticket = linked_at(S.INVESTIGATING)

    assert decided(ticket, link(at=timedelta(minutes=5))).events == ()


def test_a_ticket_linked_to_a_later_outage_follows_that_one() -> None:
    ticket = linked_at(S.INVESTIGATING)

    decision = decided(ticket, link(OTHER_INCIDENT))

    assert types(decision.events) == ["TicketLinkedToIncident"]
    assert decision.ticket.incident_id == OTHER_INCIDENT


def test_linking_never_lowers_a_priority() -> None:
    ticket = ticket_at(S.TRIAGED, Category.SERVICE_OUTAGE)  # p1 already

    decision = decided(ticket, link(priority=Priority.P2))

    (event,) = decision.events
    assert isinstance(event, TicketLinkedToIncident)
    assert (event.from_priority, event.priority) == (Priority.P1, Priority.P1)
    assert decision.ticket.clocks.first_response_due == ticket.clocks.first_response_due


def test_a_linked_ticket_is_due_as_soon_as_the_outage_priority_asks() -> None:
    ticket = ticket_at(S.TRIAGED)  # call quality: p2, a first response within the hour
    p1 = RULES.sla.p1

    clocks = decided(ticket, link()).ticket.clocks

    assert clocks.first_response_due == LATER + p1.first_response
    assert clocks.resolution_due == LATER + p1.resolution
    assert clocks.next_update_due == LATER + p1.keep_in_loop


def test_nothing_is_missed_for_the_time_before_the_ticket_became_urgent() -> None:
    ticket = ticket_at(S.TRIAGED, Category.OTHER)  # p4: a first response within a day
    two_hours_on = link(at=timedelta(hours=2))

    clocks = decided(ticket, two_hours_on).ticket.clocks

    assert clocks.first_response_due == two_hours_on.issued_at + RULES.sla.p1.first_response
    assert fired(apply(ticket, two_hours_on), two_hours_on.issued_at) == ()


def test_a_deadline_already_sooner_than_the_outage_asks_stays() -> None:
    ticket = ticket_at(S.TRIAGED, Category.SERVICE_OUTAGE)  # due in 15 minutes from NOW

    clocks = decided(ticket, link()).ticket.clocks

    assert clocks.first_response_due == ticket.clocks.first_response_due


@pytest.mark.parametrize("status", WORKED_ON, ids=[s.value for s in WORKED_ON])
def test_a_linked_ticket_resolves_with_its_outage_for_the_customer_to_confirm(
    status: S,
) -> None:
    ticket = linked_at(status)
    asked = resolve()

    decision = decided(ticket, asked)

    (event,) = decision.events
    assert isinstance(event, ResolvedWithIncident)
    assert (event.from_status, event.to_status) == (status, S.AWAITING_CONFIRMATION)
    assert (event.incident_id, event.message) == (INCIDENT, "Calls go through again.")
    assert event.confirm_by == asked.issued_at + RULES.confirmation.window
    resolved = decision.ticket
    assert resolved.status is S.AWAITING_CONFIRMATION
    assert (resolved.clocks.close_due, resolved.clocks.next_update_due) == (event.confirm_by, None)
    assert not resolved.clocks.paused
    assert next_timer(resolved) == event.confirm_by


@pytest.mark.parametrize(
    "ticket",
    [ticket_at(S.INVESTIGATING), apply(ticket_at(S.INVESTIGATING), link(OTHER_INCIDENT))],
    ids=["not-linked", "linked-to-another-outage"],
)
def test_a_ticket_not_linked_to_the_outage_does_not_resolve_with_it(ticket: Ticket) -> None:
    assert decided(ticket, resolve()).events == ()


def linked_then(*statuses: S) -> Ticket:
    """A linked ticket an agent and the customer took on to the last of `statuses`."""
    steps: dict[S, TicketCommand] = {
        S.AWAITING_CONFIRMATION: command(ChangeStatus, at=LATER, status=S.AWAITING_CONFIRMATION),
        S.RESOLVED: command(ConfirmResolution, by=CUSTOMER, at=LATER),
        S.CLOSED: command(ChangeStatus, at=LATER, status=S.CLOSED),
    }
    return apply(linked_at(S.INVESTIGATING), *(steps[status] for status in statuses))


@pytest.mark.parametrize(
    "ticket",
    [
        linked_then(S.AWAITING_CONFIRMATION),
        linked_then(S.AWAITING_CONFIRMATION, S.RESOLVED),
        linked_then(S.AWAITING_CONFIRMATION, S.RESOLVED, S.CLOSED),
    ],
    ids=["awaiting_confirmation", "resolved", "closed"],
)
def test_a_linked_ticket_whose_work_is_done_is_left_as_it_is(ticket: Ticket) -> None:
    assert ticket.incident_id == INCIDENT

    assert decided(ticket, resolve()).events == ()


def test_the_customer_confirms_an_outage_resolution_as_any_other() -> None:
    resolved = apply(linked_at(S.INVESTIGATING), resolve())

    confirmed = decided(resolved, command(ConfirmResolution, by=CUSTOMER, at=LATER))

    assert confirmed.ticket.status is S.RESOLVED


def test_the_customer_may_reopen_an_outage_resolution() -> None:
    resolved = apply(linked_at(S.INVESTIGATING), resolve())

    reopened = decided(resolved, command(ReportNotFixed, by=CUSTOMER, at=LATER))

    assert reopened.ticket.status is S.INVESTIGATING
    assert reopened.ticket.incident_id == INCIDENT


def test_an_outage_resolution_nobody_answers_closes_at_the_end_of_the_window() -> None:
    resolved = apply(linked_at(S.INVESTIGATING), resolve())
    confirm_by = resolved.clocks.close_due
    assert confirm_by is not None

    assert types(fired(resolved, confirm_by)) == ["TicketClosed"]
