"""Example data for the unit tests: the shipped rules, a reported problem, and tickets at any
point of the support process, reached by replaying commands through `decide`."""

import itertools
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules, parse_rules
from services.workflow.domain.tickets import Decision, Ticket, open_ticket
from services.workflow.settings import DEFAULT_RULES
from shared.events import (
    Actor,
    ChangeStatus,
    Command,
    ConfirmResolution,
    Event,
    FireDueTimers,
    OpenTicket,
    RequestDevelopment,
    TicketCommand,
    TicketDetails,
)
from shared.vocabulary import Category, Role, TicketStatus

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
TICKET_ID = "TCK-0123456789ABCDEF"
CRM = Actor(role=Role.SYSTEM, name="crm")
AGENT = Actor(role=Role.AGENT, name="dana")
CUSTOMER = Actor(role=Role.CUSTOMER, name="acme-telecom")
TRACKER = Actor(role=Role.SYSTEM, name="dev-tracker")

CommandT = TypeVar("CommandT", bound=Command)
_command_numbers = itertools.count(1)


def shipped_rules_text() -> str:
    return Path(DEFAULT_RULES).read_text()


@cache
def shipped_rules() -> Rules:
    return parse_rules(shipped_rules_text(), source="rules.toml")


def replace_line(text: str, old: str, new: str, after: str = "") -> tuple[str, int]:
    """The text with the first line `old` after the line `after` replaced by `new`,
    and the number of the last line of `new` in the result."""
    lines = text.splitlines()
    start = lines.index(after) if after else 0
    index = lines.index(old, start)
    added = new.splitlines()
    lines[index : index + 1] = added
    return "\n".join(lines) + "\n", index + len(added)


def details(
    category: Category = Category.CALL_QUALITY,
    affected_users: int = 1,
    summary: str = "Choppy audio on outbound calls to Madrid",
    call_ids: tuple[str, ...] = ("c-20261125-0001",),
) -> TicketDetails:
    return TicketDetails(
        customer_id="acme-telecom",
        category=category,
        summary=summary,
        call_ids=list(call_ids),
        affected_users=affected_users,
        reporting_system="crm",
    )


def open_ticket_command(
    ticket_id: str = TICKET_ID,
    command_id: str = f"open:{TICKET_ID}",
    ticket_details: TicketDetails | None = None,
) -> OpenTicket:
    return OpenTicket(
        command_id=command_id,
        issued_at=NOW,
        issued_by=CRM,
        ticket_id=ticket_id,
        details=ticket_details or details(),
        request_hash="a" * 64,
    )


def command(
    kind: type[CommandT],
    *,
    by: Actor = AGENT,
    at: datetime = NOW,
    command_id: str | None = None,
    **fields: Any,
) -> CommandT:
    """A command for the example ticket; each gets its own id unless one is given."""
    return kind(
        command_id=command_id or f"{kind.__name__}:{next(_command_numbers)}",
        issued_at=at,
        issued_by=by,
        ticket_id=TICKET_ID,
        **fields,
    )


def fire_timers(at: datetime) -> FireDueTimers:
    return command(FireDueTimers, by=CRM, at=at, command_id=f"timers:{at.isoformat()}")


def opened(
    category: Category = Category.CALL_QUALITY, affected_users: int = 1, at: datetime = NOW
) -> Ticket:
    """A ticket just opened (and so triaged) at `at`."""
    reported = details(category=category, affected_users=affected_users)
    return open_ticket(open_ticket_command(ticket_details=reported), at, shipped_rules()).ticket


def apply(ticket: Ticket, *commands: TicketCommand, rules: Rules | None = None) -> Ticket:
    """The ticket after each command was decided, in turn, at the time it was issued."""
    for each in commands:
        ticket = decide(ticket, each, each.issued_at, rules or shipped_rules()).ticket
    return ticket


def decided(ticket: Ticket, each: TicketCommand, rules: Rules | None = None) -> Decision:
    return decide(ticket, each, each.issued_at, rules or shipped_rules())


def fired(ticket: Ticket, at: datetime, rules: Rules | None = None) -> tuple[Event, ...]:
    """What the SLA scheduler's FireDueTimers at `at` makes of the ticket."""
    return decided(ticket, fire_timers(at), rules).events


def type_of(event: Event) -> str:
    """The `type` each concrete event carries (the base class declares none)."""
    return str(event.model_dump(include={"type"})["type"])


def types(events: tuple[Event, ...]) -> list[str]:
    return [type_of(event) for event in events]


def path_to(status: TicketStatus, at: datetime = NOW) -> list[TicketCommand]:
    """The commands that take a newly triaged ticket to `status`, the way people do it."""

    def to(target: TicketStatus) -> ChangeStatus:
        return command(ChangeStatus, status=target, at=at)

    fixing: list[TicketCommand] = [to(TicketStatus.INVESTIGATING), to(TicketStatus.FIX_IN_PROGRESS)]
    awaiting: list[TicketCommand] = [
        to(TicketStatus.INVESTIGATING),
        to(TicketStatus.AWAITING_CONFIRMATION),
    ]
    resolved: list[TicketCommand] = [*awaiting, command(ConfirmResolution, by=CUSTOMER, at=at)]
    paths: dict[TicketStatus, list[TicketCommand]] = {
        TicketStatus.TRIAGED: [],
        TicketStatus.INVESTIGATING: [to(TicketStatus.INVESTIGATING)],
        TicketStatus.WAITING_ON_CUSTOMER: [to(TicketStatus.WAITING_ON_CUSTOMER)],
        TicketStatus.DEVELOPMENT: [
            to(TicketStatus.INVESTIGATING),
            command(RequestDevelopment, summary="Fix the codec negotiation", at=at),
        ],
        TicketStatus.FIX_IN_PROGRESS: fixing,
        TicketStatus.TESTING: [*fixing, to(TicketStatus.TESTING)],
        TicketStatus.AWAITING_CONFIRMATION: awaiting,
        TicketStatus.RESOLVED: resolved,
        TicketStatus.CLOSED: [*resolved, to(TicketStatus.CLOSED)],
    }
    return paths[status]


# A ticket rests at these; `opened` and `deployed` are passed through within one decision.
PASSED_THROUGH = frozenset({TicketStatus.OPENED, TicketStatus.DEPLOYED})
RESTING_STATUSES = tuple(s for s in TicketStatus if s not in PASSED_THROUGH)


def ticket_at(
    status: TicketStatus,
    category: Category = Category.CALL_QUALITY,
    at: datetime = NOW,
) -> Ticket:
    """A ticket opened at `at` and taken to `status` at that same moment."""
    return apply(opened(category, at=at), *path_to(status, at))


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)
