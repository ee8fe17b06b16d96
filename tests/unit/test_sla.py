"""SLA clocks: due times per priority, pausing while waiting on the customer, keep-in-loop
updates, breaches that escalate, and tickets that close by themselves."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from services.workflow.domain.lifecycle import next_timer
from services.workflow.domain.rules import parse_rules
from services.workflow.domain.sla import Clocks, pause, resume, start_clocks
from services.workflow.domain.tickets import Ticket
from shared.events import (
    WORKFLOW,
    AddCustomerComment,
    AddInternalNote,
    AlternativeProposed,
    AssignTicket,
    ChangeStatus,
    Event,
    FireDueTimers,
    PostPublicUpdate,
    ProgressUpdateSent,
    SlaBreached,
    TicketClosed,
    TicketCommand,
    TicketEscalated,
)
from shared.vocabulary import Category, Priority, SlaClock, Team, TicketStatus
from tests.unit.examples import (
    CRM,
    CUSTOMER,
    NOW,
    apply,
    command,
    decided,
    fired,
    opened,
    replace_line,
    shipped_rules,
    shipped_rules_text,
    ticket_at,
    type_of,
    types,
)

S = TicketStatus
MICROSECOND = timedelta(microseconds=1)
PORTING = Category.NUMBER_PORTING  # p3, starting at level_1


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


def days(n: int) -> timedelta:
    return timedelta(days=n)


# The service levels of the support process: first response, keep-in-loop, resolution.
SERVICE_LEVELS = {
    Priority.P1: (minutes(15), minutes(30), hours(4)),
    Priority.P2: (hours(1), hours(4), days(3)),
    Priority.P3: (hours(4), hours(24), days(5)),
    Priority.P4: (days(1), days(2), days(10)),
}


def at(delta: timedelta) -> datetime:
    return NOW + delta


def what_fires(events: tuple[Event, ...]) -> set[str]:
    return {
        f"{e.type}:{e.clock.value}" if isinstance(e, SlaBreached) else type_of(e) for e in events
    }


def started_at(moment: datetime, priority: Priority) -> Clocks:
    """Clocks as if started at `moment`, at the service levels of `priority`."""
    first_response, keep_in_loop, resolution = SERVICE_LEVELS[priority]
    return Clocks(
        first_response_due=moment + first_response,
        next_update_due=moment + keep_in_loop,
        resolution_due=moment + resolution,
    )


@pytest.mark.parametrize("priority", list(Priority), ids=str)
def test_the_clocks_start_at_the_service_levels_of_the_priority(priority: Priority) -> None:
    clocks = start_clocks(priority, Category.OTHER, NOW, shipped_rules())

    assert clocks == started_at(NOW, priority)


def test_a_complex_technical_problem_may_take_four_weeks_to_resolve() -> None:
    first_response, keep_in_loop, _ = SERVICE_LEVELS[Priority.P2]

    ticket = opened(Category.COMPLEX_TECHNICAL)

    assert ticket.priority is Priority.P2
    assert ticket.clocks.resolution_due == NOW + timedelta(weeks=4)
    assert ticket.clocks.first_response_due == NOW + first_response
    assert ticket.clocks.next_update_due == NOW + keep_in_loop


# Each clock, the ticket it runs on, when it is due, and what it does then.
BOUNDARIES: list[tuple[str, Callable[[], Ticket], timedelta, str]] = [
    ("first-response", lambda: opened(PORTING), hours(4), "SlaBreached:first_response"),
    ("keep-in-loop", lambda: ticket_at(S.INVESTIGATING, PORTING), hours(24), "ProgressUpdateSent"),
    ("resolution", lambda: ticket_at(S.INVESTIGATING, PORTING), days(5), "SlaBreached:resolution"),
    ("confirmation", lambda: ticket_at(S.AWAITING_CONFIRMATION, PORTING), days(3), "TicketClosed"),
    ("resolved", lambda: ticket_at(S.RESOLVED, PORTING), days(1), "TicketClosed"),
]


@pytest.mark.parametrize(
    ("ticket", "due", "outcome"), [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES]
)
def test_a_clock_fires_exactly_when_due_and_not_a_microsecond_before(
    ticket: Callable[[], Ticket], due: timedelta, outcome: str
) -> None:
    assert outcome not in what_fires(fired(ticket(), at(due) - MICROSECOND))
    assert outcome in what_fires(fired(ticket(), at(due)))


def test_pausing_and_resuming_moves_every_running_deadline_by_the_time_waited() -> None:
    running = start_clocks(Priority.P3, PORTING, NOW, shipped_rules())

    paused = pause(running, at(hours(1)))
    resumed = resume(pause(paused, at(hours(2))), at(hours(3)))  # pausing twice: first wins

    assert paused.paused_since == at(hours(1))
    assert resumed == started_at(at(hours(2)), Priority.P3)
    assert resume(running, at(hours(3))) == running


def test_waiting_on_the_customer_pauses_the_clocks_and_their_answer_resumes_them() -> None:
    ticket = opened(PORTING)
    # A source system asks, so the first response is still owed and its clock still runs.
    asked = command(ChangeStatus, status=S.WAITING_ON_CUSTOMER, by=CRM, at=at(hours(1)))
    answered = command(AddCustomerComment, message="Since Monday", by=CUSTOMER, at=at(hours(3)))

    waiting = apply(ticket, asked)
    resumed = apply(waiting, answered)

    assert waiting.clocks.paused
    assert next_timer(waiting) is None
    assert fired(waiting, at(days(30))) == ()
    assert resumed.status is S.INVESTIGATING
    assert resumed.clocks == started_at(at(hours(2)), Priority.P3)


def test_keep_in_loop_sends_a_progress_update_and_waits_another_cadence() -> None:
    ticket = ticket_at(S.INVESTIGATING, PORTING)

    decision = decided(ticket, command(FireDueTimers, by=CRM, at=at(hours(24))))

    (update,) = decision.events
    assert isinstance(update, ProgressUpdateSent)
    assert (update.actor, update.next_update_by) == (WORKFLOW, at(hours(48)))
    assert decision.ticket.clocks.next_update_due == at(hours(48))
    assert next_timer(decision.ticket) == at(hours(48))
    again = decided(decision.ticket, command(FireDueTimers, by=CRM, at=at(hours(24))))
    assert again.events == ()


def test_a_missed_first_response_is_breached_and_escalated_once() -> None:
    ticket = opened(PORTING)

    decision = decided(ticket, command(FireDueTimers, by=CRM, at=at(hours(4))))

    breached, escalated = decision.events
    assert isinstance(breached, SlaBreached)
    assert (breached.clock, breached.due_at, breached.actor, breached.priority) == (
        SlaClock.FIRST_RESPONSE,
        at(hours(4)),
        WORKFLOW,
        ticket.priority,  # operators are alerted by it
    )
    assert isinstance(escalated, TicketEscalated)
    assert (escalated.from_tier, escalated.to_tier) == ("level_1", "level_2")
    assert decision.ticket.tier == "level_2"
    assert decision.ticket.clocks.first_response_breached
    assert "SlaBreached:first_response" not in what_fires(fired(decision.ticket, at(hours(5))))


def test_a_missed_resolution_is_breached_escalated_and_an_alternative_proposed_once() -> None:
    ticket = ticket_at(S.INVESTIGATING, PORTING)

    decision = decided(ticket, command(FireDueTimers, by=CRM, at=at(days(5))))

    assert types(decision.events) == [
        "SlaBreached",
        "TicketEscalated",
        "AlternativeProposed",
        "ProgressUpdateSent",  # keep-in-loop was overdue too
    ]
    breached, escalated, proposed, _ = decision.events
    assert isinstance(breached, SlaBreached)
    assert (breached.clock, breached.due_at) == (SlaClock.RESOLUTION, at(days(5)))
    assert isinstance(escalated, TicketEscalated)
    assert escalated.to_tier == "level_2"
    assert isinstance(proposed, AlternativeProposed)
    assert proposed.alternative == "port the number to an alternative carrier route"
    later = fired(decision.ticket, at(days(9)))
    assert "SlaBreached:resolution" not in what_fires(later)
    assert "AlternativeProposed" not in what_fires(later)


def test_without_propose_on_resolution_breach_no_alternative_is_proposed() -> None:
    text, _ = replace_line(
        shipped_rules_text(),
        "propose_on_resolution_breach = true",
        "propose_on_resolution_breach = false",
    )
    rules = parse_rules(text)
    ticket = ticket_at(S.INVESTIGATING, PORTING)

    events = fired(ticket, at(days(5)), rules)

    assert "SlaBreached:resolution" in what_fires(events)
    assert "AlternativeProposed" not in what_fires(events)


def test_at_the_top_tier_a_breach_escalates_no_further() -> None:
    outage = opened(Category.SERVICE_OUTAGE)
    assert outage.tier == "engineering_lead"

    decision = decided(outage, command(FireDueTimers, by=CRM, at=at(minutes(15))))

    assert types(decision.events) == ["SlaBreached"]
    assert decision.ticket.tier == "engineering_lead"


# Who does what before the first response is due, and whether that is the first response.
FIRST_RESPONSES: list[tuple[str, Callable[[datetime], TicketCommand], bool]] = [
    ("agent-posts-an-update", lambda t: command(PostPublicUpdate, message="On it", at=t), True),
    (
        "agent-starts-investigating",
        lambda t: command(ChangeStatus, status=S.INVESTIGATING, at=t),
        True,
    ),
    (
        "agent-asks-the-customer-a-question",
        lambda t: command(ChangeStatus, status=S.WAITING_ON_CUSTOMER, at=t),
        True,
    ),
    (
        "agent-asks-the-customer-to-confirm",
        lambda t: command(ChangeStatus, status=S.AWAITING_CONFIRMATION, at=t),
        True,
    ),
    ("agent-notes-internally", lambda t: command(AddInternalNote, text="Hm", at=t), False),
    ("agent-reassigns", lambda t: command(AssignTicket, team=Team.NUMBERING, at=t), False),
    (
        "customer-comments",
        lambda t: command(AddCustomerComment, message="Any news?", by=CUSTOMER, at=t),
        False,
    ),
    (
        "source-system-sets-investigating",
        lambda t: command(ChangeStatus, status=S.INVESTIGATING, by=CRM, at=t),
        False,
    ),
]


@pytest.mark.parametrize(
    ("issue", "responds"), [f[1:] for f in FIRST_RESPONSES], ids=[f[0] for f in FIRST_RESPONSES]
)
def test_only_an_agents_customer_visible_step_is_the_first_response(
    issue: Callable[[datetime], TicketCommand], responds: bool
) -> None:
    ticket = opened(PORTING)

    after = apply(ticket, issue(at(minutes(30))))

    if responds:
        assert after.first_responded_at == at(minutes(30))
        assert after.clocks.first_response_due is None
    else:
        assert after.first_responded_at is None
        assert after.clocks.first_response_due == ticket.clocks.first_response_due


def test_a_first_response_is_kept_once_given() -> None:
    ticket = apply(opened(PORTING), command(PostPublicUpdate, message="On it", at=at(minutes(5))))

    after = apply(ticket, command(PostPublicUpdate, message="Update", at=at(hours(1))))

    assert after.first_responded_at == at(minutes(5))


@pytest.mark.parametrize(
    ("issue", "restarts"),
    [
        (lambda t: command(PostPublicUpdate, message="Found it", at=t), True),
        (lambda t: command(AddInternalNote, text="Found it", at=t), False),
        (lambda t: command(AddCustomerComment, message="Any news?", by=CUSTOMER, at=t), False),
    ],
    ids=["public-update", "internal-note", "customer-comment"],
)
def test_a_customer_visible_step_restarts_keep_in_loop(
    issue: Callable[[datetime], TicketCommand], restarts: bool
) -> None:
    ticket = ticket_at(S.INVESTIGATING, PORTING)

    after = apply(ticket, issue(at(hours(10))))

    expected = at(hours(10 + 24)) if restarts else ticket.clocks.next_update_due
    assert after.clocks.next_update_due == expected


def awaiting_outage() -> Ticket:
    """An outage handed to the customer for confirmation before anyone responded."""
    asked = command(ChangeStatus, status=S.AWAITING_CONFIRMATION, by=CRM)
    return apply(opened(Category.SERVICE_OUTAGE), asked)


def test_awaiting_confirmation_nothing_is_breached_and_no_update_is_due() -> None:
    ticket = awaiting_outage()
    window = shipped_rules().confirmation.window

    assert fired(ticket, NOW + window - MICROSECOND) == ()
    assert ticket.clocks.next_update_due is None


@pytest.mark.parametrize(
    ("ticket", "after", "reason"),
    [
        (awaiting_outage, days(3), "no answer within the window"),
        (lambda: ticket_at(S.RESOLVED), days(1), "resolved"),
    ],
    ids=["unconfirmed", "resolved"],
)
def test_a_ticket_closes_by_itself_when_its_time_is_up(
    ticket: Callable[[], Ticket], after: timedelta, reason: str
) -> None:
    before = ticket()

    decision = decided(before, command(FireDueTimers, by=CRM, at=at(after)))

    (closed,) = decision.events
    assert isinstance(closed, TicketClosed)
    assert (closed.from_status, closed.to_status) == (before.status, S.CLOSED)
    assert (closed.actor, closed.reason) == (WORKFLOW, reason)
    assert decision.ticket.status is S.CLOSED
    assert next_timer(decision.ticket) is None


def breached_resolution() -> Ticket:
    return decided(
        ticket_at(S.INVESTIGATING, PORTING), command(FireDueTimers, at=at(days(5)))
    ).ticket


NEXT_TIMERS: list[tuple[str, Callable[[], Ticket], datetime | None]] = [
    ("fresh-first-response", lambda: opened(PORTING), at(hours(4))),
    ("responded-keep-in-loop", lambda: ticket_at(S.INVESTIGATING, PORTING), at(hours(24))),
    ("breached-resolution-not-again", breached_resolution, at(days(6))),
    ("awaiting-closes-only", awaiting_outage, at(days(3))),
    ("resolved-closes", lambda: ticket_at(S.RESOLVED, PORTING), at(days(1))),
    ("paused", lambda: ticket_at(S.WAITING_ON_CUSTOMER, PORTING), None),
    ("closed", lambda: ticket_at(S.CLOSED, PORTING), None),
]


@pytest.mark.parametrize(
    ("ticket", "expected"), [n[1:] for n in NEXT_TIMERS], ids=[n[0] for n in NEXT_TIMERS]
)
def test_the_next_timer_is_the_earliest_clock_that_can_still_fire(
    ticket: Callable[[], Ticket], expected: datetime | None
) -> None:
    assert next_timer(ticket()) == expected
