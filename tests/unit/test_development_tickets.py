"""A code change is needed: a linked development ticket, and its progress moving the support
ticket through fix, test and deployment to the customer's confirmation."""

from datetime import timedelta

import pytest

from services.workflow.domain.tickets import Ticket
from shared.errors import UnprocessableMessage
from shared.events import (
    WORKFLOW,
    ConfirmationRequested,
    DevelopmentTicketOpened,
    RecordDevelopmentProgress,
    RequestDevelopment,
    StatusChanged,
)
from shared.lifecycle import IllegalTransition
from shared.vocabulary import DevelopmentStatus, Team, TicketStatus, development_ticket_id
from tests.unit.examples import (
    AGENT,
    NOW,
    TRACKER,
    command,
    decided,
    shipped_rules,
    ticket_at,
    types,
)

S = TicketStatus
D = DevelopmentStatus
LATER = NOW + timedelta(hours=2)


def request_development(command_id: str = "request-development:1") -> RequestDevelopment:
    return command(
        RequestDevelopment, summary="Fix codec negotiation", command_id=command_id, at=LATER
    )


def in_development() -> Ticket:
    return decided(ticket_at(S.INVESTIGATING), request_development()).ticket


def progress(status: D, development_id: str | None = None) -> RecordDevelopmentProgress:
    development_id = development_id or development_ticket_id("request-development:1")
    return command(
        RecordDevelopmentProgress,
        by=TRACKER,
        at=LATER,
        development_ticket_id=development_id,
        status=status,
    )


def test_a_development_ticket_is_opened_linked_and_development_is_involved() -> None:
    ticket = ticket_at(S.INVESTIGATING)

    decision = decided(ticket, request_development("request-development:7"))

    (opened,) = decision.events
    assert isinstance(opened, DevelopmentTicketOpened)
    assert opened.development_ticket_id == development_ticket_id("request-development:7")
    assert opened.development_ticket_id.startswith("DEV-")
    assert (opened.summary, opened.actor) == ("Fix codec negotiation", AGENT)
    development = decision.ticket.development
    assert development is not None
    assert development.development_ticket_id == opened.development_ticket_id
    assert (development.status, development.opened_at) == (D.OPEN, LATER)
    assert decision.ticket.team is ticket.team
    assert decision.ticket.teams == sorted({*ticket.teams, Team.DEVELOPMENT})


def test_the_development_ticket_id_follows_from_the_command_id() -> None:
    ticket = ticket_at(S.INVESTIGATING)

    def development_id(command_id: str) -> str:
        (opened,) = decided(ticket, request_development(command_id)).events
        assert isinstance(opened, DevelopmentTicketOpened)
        return opened.development_ticket_id

    assert development_id("request:1") == development_id("request:1")
    assert development_id("request:1") != development_id("request:2")


# The tracker's reports in order, and what each does to the support ticket.
PROGRESS = [
    (D.FIX_IN_PROGRESS, ["FixStarted"], S.FIX_IN_PROGRESS),
    (D.TESTING, ["FixTestingStarted"], S.TESTING),
    (D.DEPLOYED, ["FixDeployed", "ConfirmationRequested"], S.AWAITING_CONFIRMATION),
]


def test_the_trackers_progress_moves_the_support_ticket_to_confirmation() -> None:
    ticket = in_development()
    development_id = development_ticket_id("request-development:1")

    for status, expected, after in PROGRESS:
        decision = decided(ticket, progress(status))
        ticket = decision.ticket

        assert types(decision.events) == expected
        assert ticket.status is after
        assert ticket.development is not None
        assert ticket.development.status is status
        tracker_step = decision.events[0]
        assert isinstance(tracker_step, StatusChanged)
        assert tracker_step.actor == TRACKER
        assert getattr(tracker_step, "development_ticket_id", None) == development_id


def test_a_deployed_fix_asks_the_customer_to_confirm() -> None:
    ticket = in_development()
    for status, _, _ in PROGRESS[:-1]:
        ticket = decided(ticket, progress(status)).ticket

    _, confirmation = decided(ticket, progress(D.DEPLOYED)).events

    assert isinstance(confirmation, ConfirmationRequested)
    assert confirmation.actor == WORKFLOW
    assert confirmation.confirm_by == LATER + shipped_rules().confirmation.window


@pytest.mark.parametrize("status", [D.FIX_IN_PROGRESS, D.TESTING], ids=str)
def test_the_same_progress_reported_twice_changes_nothing(status: D) -> None:
    ticket = in_development()
    for reported, _, _ in PROGRESS:
        ticket = decided(ticket, progress(reported)).ticket
        if reported is status:
            break

    again = decided(ticket, progress(status))

    assert again.events == ()
    assert again.ticket == ticket


def test_a_fix_that_fails_its_tests_goes_back_to_fixing() -> None:
    ticket = decided(in_development(), progress(D.FIX_IN_PROGRESS)).ticket
    ticket = decided(ticket, progress(D.TESTING)).ticket

    decision = decided(ticket, progress(D.FIX_IN_PROGRESS))

    assert types(decision.events) == ["FixStarted"]
    assert decision.ticket.status is S.FIX_IN_PROGRESS


def test_progress_for_another_development_ticket_is_refused() -> None:
    with pytest.raises(UnprocessableMessage, match="DEV-SOMETHINGELSE"):
        decided(in_development(), progress(D.FIX_IN_PROGRESS, "DEV-SOMETHINGELSE"))


def test_progress_for_a_ticket_without_development_is_refused() -> None:
    with pytest.raises(UnprocessableMessage, match="has no development ticket"):
        decided(ticket_at(S.INVESTIGATING), progress(D.FIX_IN_PROGRESS))


def test_progress_that_skips_a_step_is_refused_naming_the_allowed_one() -> None:
    with pytest.raises(IllegalTransition) as refused:
        decided(in_development(), progress(D.TESTING))

    assert [step.value for step in refused.value.allowed] == ["start_fix"]
