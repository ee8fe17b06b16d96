"""The workflow's ticket documents as intake reads them, and what each caller may see of them.

Documents written by an earlier version lack the lifecycle fields; they read with defaults.
"""

import heapq
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from services.intake.auth import Caller
from services.intake.tickets.schemas import (
    CustomerDevelopmentView,
    CustomerTicketView,
    DevelopmentView,
    TicketView,
)
from shared.deliveries import DeliveryEntry
from shared.events import (
    AffectedService,
    CustomerCommented,
    TicketDetails,
    TicketEvent,
    ticket_event_adapter,
)
from shared.mongo import Document
from shared.vocabulary import Category, DevelopmentStatus, Priority, Role, Team, TicketStatus

log = logging.getLogger("switchboard.intake.documents")

# A ticket's timeline: its events, and what became of the notifications they caused.
TimelineItem = TicketEvent | DeliveryEntry

FOLLOW_UP_PREFIX = "Follow-up: "
SUMMARY_MAX = 200  # TicketDetails.summary's limit


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class DevelopmentRecord(Record):
    development_ticket_id: str
    summary: str
    status: DevelopmentStatus


class ClocksRecord(Record):
    first_response_due: datetime | None = None
    next_update_due: datetime | None = None
    resolution_due: datetime | None = None
    close_due: datetime | None = None
    paused_since: datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False


class TicketRecord(Record):
    """A ticket document: the report's fields, the lifecycle state and the clocks."""

    ticket_id: str
    status: TicketStatus
    customer_id: str
    category: Category
    summary: str
    description: str = ""
    call_ids: list[str] = []
    affected_users: int = 1
    reporting_system: str
    team: Team | None = None
    teams: list[Team] = []
    priority: Priority | None = None
    tier: str | None = None
    reopen_count: int = 0
    development: DevelopmentRecord | None = None
    follow_up_of: str | None = None
    alternative_proposed: bool = False
    affected: AffectedService | None = None
    incident_id: str | None = None
    first_responded_at: datetime | None = None
    clocks: ClocksRecord = ClocksRecord()
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _owning_team_is_involved(cls, document: Any) -> Any:
        # Earlier documents name only the owning team.
        if isinstance(document, dict) and not document.get("teams") and document.get("team"):
            return {**document, "teams": [document["team"]]}
        return document


def ticket_record(document: Document) -> TicketRecord:
    return TicketRecord.model_validate({**document, "ticket_id": document["_id"]})


def follow_up_details(closed: TicketRecord, comment: str) -> TicketDetails:
    """A follow-up reports the closed ticket's problem again, in the customer's new words."""
    details = closed.model_dump(include=set(TicketDetails.model_fields))
    return TicketDetails.model_validate(
        {
            **details,
            "summary": f"{FOLLOW_UP_PREFIX}{closed.summary}"[:SUMMARY_MAX],
            "description": comment or closed.description,
        }
    )


def ticket_view(ticket: TicketRecord) -> TicketView:
    state = ticket.model_dump(exclude={"clocks", "development"})
    development = ticket.development
    return TicketView(
        **state,
        **ticket.clocks.model_dump(),
        development=DevelopmentView(**development.model_dump()) if development else None,
    )


def customer_ticket_view(ticket: TicketRecord) -> CustomerTicketView:
    state = ticket.model_dump(include=set(CustomerTicketView.model_fields) - {"development"})
    development = ticket.development
    return CustomerTicketView(
        **state,
        next_update_due=ticket.clocks.next_update_due,
        resolution_due=ticket.clocks.resolution_due,
        development=CustomerDevelopmentView(summary=development.summary, status=development.status)
        if development
        else None,
    )


def view_for(caller: Caller, ticket: TicketRecord) -> TicketView | CustomerTicketView:
    return customer_ticket_view(ticket) if caller.role is Role.CUSTOMER else ticket_view(ticket)


def views_for(
    caller: Caller, tickets: list[TicketRecord]
) -> list[TicketView] | list[CustomerTicketView]:
    if caller.role is Role.CUSTOMER:
        return [customer_ticket_view(ticket) for ticket in tickets]
    return [ticket_view(ticket) for ticket in tickets]


def timeline_for(caller: Caller, stored_events: list[Document]) -> list[TicketEvent]:
    """The ticket's events in order; a customer sees only those meant for them."""
    events = [event for event in map(_parsed, stored_events) if event is not None]
    if caller.role is not Role.CUSTOMER:
        return events
    return [e for e in events if e.customer_visible or isinstance(e, CustomerCommented)]


def deliveries_for(caller: Caller, stored_deliveries: list[Document]) -> list[DeliveryEntry]:
    """Every delivery attempt for agents; a customer sees what reached them."""
    entries = [entry for entry in map(_delivery, stored_deliveries) if entry is not None]
    if caller.role is not Role.CUSTOMER:
        return entries
    return [
        entry
        for entry in entries
        if entry.type == "NotificationDelivered" and entry.customer_id == caller.customer_id
    ]


def merged_timeline(
    events: Iterable[TicketEvent], deliveries: Iterable[DeliveryEntry]
) -> list[TimelineItem]:
    """Deliveries merged into the events by time; the events keep their stored order."""
    ordered = sorted(deliveries, key=lambda entry: entry.occurred_at)
    merged: Iterable[TimelineItem] = heapq.merge(events, ordered, key=lambda item: item.occurred_at)
    return list(merged)


def _delivery(stored: Document) -> DeliveryEntry | None:
    try:
        return DeliveryEntry.model_validate(stored)
    except ValidationError as error:
        log.warning(
            "delivery left out of a timeline",
            extra={"event_id": stored.get("event_id"), "error": str(error)},
        )
        return None


def _parsed(stored: Document) -> TicketEvent | None:
    try:
        return ticket_event_adapter.validate_python(stored)
    except ValidationError as error:
        # An event of a newer contract than this intake knows: leave it out, say so.
        log.warning(
            "event left out of a timeline",
            extra={
                "ticket": stored.get("ticket_id"),
                "event_id": stored.get("event_id"),
                "type": stored.get("type"),
                "error": str(error),
            },
        )
        return None
