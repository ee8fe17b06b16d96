"""Example data for the unit tests: the shipped rules and a reported problem."""

from datetime import UTC, datetime
from pathlib import Path

from services.workflow.domain.rules import Rules, parse_rules
from services.workflow.settings import DEFAULT_RULES
from shared.events import Actor, OpenTicket, TicketDetails
from shared.vocabulary import Category, Role

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CRM = Actor(role=Role.SYSTEM, name="crm")


def shipped_rules_text() -> str:
    return Path(DEFAULT_RULES).read_text()


def shipped_rules() -> Rules:
    return parse_rules(shipped_rules_text(), source="rules.toml")


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
    ticket_id: str = "TCK-0123456789ABCDEF",
    command_id: str = "open:TCK-0123456789ABCDEF",
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
