"""The customer reports the fix did not work: the ticket reopens, escalates, and a problem that
persists gets an alternative solution proposed, once."""

from datetime import timedelta

from services.workflow.domain.tickets import Ticket
from shared.events import (
    WORKFLOW,
    AlternativeProposed,
    ChangeStatus,
    ReportNotFixed,
    TicketEscalated,
    TicketReopened,
)
from shared.vocabulary import Category, TicketStatus
from tests.unit.examples import (
    CUSTOMER,
    NOW,
    apply,
    command,
    decided,
    shipped_rules,
    ticket_at,
    types,
)

S = TicketStatus
LATER = NOW + timedelta(days=1)
PORT_THE_NUMBER = "port the number to an alternative carrier route"


def not_fixed(comment: str = "Calls still drop") -> ReportNotFixed:
    return command(ReportNotFixed, by=CUSTOMER, comment=comment, at=LATER)


def awaiting_again(ticket: Ticket) -> Ticket:
    return apply(ticket, command(ChangeStatus, status=S.AWAITING_CONFIRMATION, at=LATER))


def test_reopening_counts_escalates_one_tier_and_resumes_the_work() -> None:
    ticket = ticket_at(S.AWAITING_CONFIRMATION, Category.NUMBER_PORTING)
    assert ticket.tier == "level_1"

    decision = decided(ticket, not_fixed("Calls still drop"))

    reopened, escalated = decision.events
    assert isinstance(reopened, TicketReopened)
    assert (reopened.from_status, reopened.to_status) == (S.AWAITING_CONFIRMATION, S.INVESTIGATING)
    assert (reopened.reopen_count, reopened.comment, reopened.actor) == (
        1,
        "Calls still drop",
        CUSTOMER,
    )
    assert isinstance(escalated, TicketEscalated)
    assert (escalated.from_tier, escalated.to_tier, escalated.actor) == (
        "level_1",
        "level_2",
        WORKFLOW,
    )
    assert (decision.ticket.status, decision.ticket.reopen_count, decision.ticket.tier) == (
        S.INVESTIGATING,
        1,
        "level_2",
    )


def test_at_the_reopen_threshold_the_alternative_is_proposed_exactly_once() -> None:
    assert shipped_rules().persistence.reopen_threshold == 2
    ticket = ticket_at(S.AWAITING_CONFIRMATION, Category.NUMBER_PORTING)
    rounds: list[list[str]] = []
    proposals: list[AlternativeProposed] = []

    for _ in range(3):
        decision = decided(ticket, not_fixed())
        rounds.append(types(decision.events))
        proposals += [e for e in decision.events if isinstance(e, AlternativeProposed)]
        ticket = awaiting_again(decision.ticket)

    assert rounds == [
        ["TicketReopened", "TicketEscalated"],
        ["TicketReopened", "TicketEscalated", "AlternativeProposed"],
        ["TicketReopened"],  # already at the top tier, alternative already proposed
    ]
    (proposal,) = proposals
    assert proposal.alternative == PORT_THE_NUMBER
    assert proposal.actor == WORKFLOW
    assert proposal.reason == "reopened 2 times"
    assert ticket.reopen_count == 3
    assert ticket.alternative_proposed


def test_a_category_without_its_own_alternative_gets_the_default_one() -> None:
    ticket = ticket_at(S.AWAITING_CONFIRMATION, Category.OTHER)
    ticket = awaiting_again(decided(ticket, not_fixed()).ticket)

    proposals = [
        e for e in decided(ticket, not_fixed()).events if isinstance(e, AlternativeProposed)
    ]

    assert [p.alternative for p in proposals] == [shipped_rules().persistence.default_alternative]


def test_a_resolved_ticket_can_be_reopened_too() -> None:
    decision = decided(ticket_at(S.RESOLVED), not_fixed())

    assert decision.ticket.status is S.INVESTIGATING
    assert decision.ticket.reopen_count == 1


def test_a_reopened_ticket_no_longer_closes_by_itself_and_keeps_the_customer_in_the_loop() -> None:
    ticket = ticket_at(S.AWAITING_CONFIRMATION)
    assert ticket.clocks.close_due is not None

    reopened = decided(ticket, not_fixed()).ticket

    keep_in_loop = shipped_rules().sla.targets(ticket.priority, ticket.details.category)
    assert reopened.clocks.close_due is None
    assert reopened.clocks.next_update_due == LATER + keep_in_loop.keep_in_loop
