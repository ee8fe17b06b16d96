"""Opening a ticket: a pure decision that triages it and says what happened."""

from datetime import timedelta

from services.workflow.domain.tickets import open_ticket
from shared.events import WORKFLOW, TicketOpened, TicketTriaged
from shared.vocabulary import Category, Priority, Team, TicketStatus
from tests.unit.examples import CRM, NOW, details, open_ticket_command, shipped_rules


def test_a_new_ticket_is_triaged_to_the_routed_team_at_once() -> None:
    command = open_ticket_command(ticket_details=details(category=Category.NUMBER_PORTING))

    ticket = open_ticket(command, NOW, shipped_rules()).ticket

    assert ticket.ticket_id == command.ticket_id
    assert ticket.status is TicketStatus.TRIAGED
    assert (ticket.team, ticket.priority) == (Team.NUMBERING, Priority.P3)
    assert ticket.details == command.details
    assert ticket.request_hash == command.request_hash
    assert ticket.version == 1
    assert ticket.created_at == ticket.updated_at == NOW


def test_opening_says_the_ticket_was_opened_then_triaged_at_the_given_time() -> None:
    command = open_ticket_command()

    opened, triaged = open_ticket(command, NOW, shipped_rules()).events

    assert isinstance(opened, TicketOpened)
    assert isinstance(triaged, TicketTriaged)
    assert opened.occurred_at == triaged.occurred_at == NOW
    assert opened.details == command.details
    assert opened.actor == CRM
    assert (triaged.team, triaged.priority, triaged.actor) == (Team.LEVEL_2, Priority.P2, WORKFLOW)
    assert triaged.reason == "category call_quality"
    assert {e.ticket_id for e in (opened, triaged)} == {command.ticket_id}
    assert {e.customer_id for e in (opened, triaged)} == {"acme-telecom"}


def test_the_clock_is_the_one_passed_in() -> None:
    later = NOW + timedelta(hours=3)

    decision = open_ticket(open_ticket_command(), later, shipped_rules())

    assert decision.ticket.created_at == later
    assert {e.occurred_at for e in decision.events} == {later}


def test_a_redelivered_command_yields_the_very_same_events() -> None:
    command = open_ticket_command()

    first = open_ticket(command, NOW, shipped_rules())
    again = open_ticket(command, NOW + timedelta(seconds=30), shipped_rules())

    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]


def test_each_event_of_a_decision_has_its_own_id() -> None:
    opened, triaged = open_ticket(open_ticket_command(), NOW, shipped_rules()).events

    assert opened.event_id != triaged.event_id


def test_another_command_yields_other_event_ids() -> None:
    first = open_ticket(open_ticket_command(command_id="open:1"), NOW, shipped_rules())
    other = open_ticket(open_ticket_command(command_id="open:2"), NOW, shipped_rules())

    assert not {e.event_id for e in first.events} & {e.event_id for e in other.events}


def test_an_outage_for_many_users_opens_as_a_top_priority_incident() -> None:
    rules = shipped_rules()
    outage = details(
        category=Category.SERVICE_OUTAGE, affected_users=rules.priority.many_users_threshold
    )

    decision = open_ticket(open_ticket_command(ticket_details=outage), NOW, rules)

    assert (decision.ticket.team, decision.ticket.priority) == (Team.INCIDENT, Priority.P1)
