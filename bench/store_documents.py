"""The store bench's history: tickets and notifications shaped as the services store them.

One ticket is made by the workflow's own code (`open_ticket`, then the state `TicketStore`
saves) and its notification's text by the notifier's templates; every stored ticket is that
one varied by its index (customer, status, priority, teams, call ids, times, two or three
events), so a million are made in a minute. About 2.3 KB of BSON each: the state alone is
about 1 KB and `open_ticket` always writes two events. Index order is creation order: a
ticket every SPACING, the newest `open_tickets` still being worked on, all older ones
closed; the customers are drawn evenly, so each one's history grows with the size.

What the due-work queries must find is known exactly: DUE_TICKETS open tickets whose clocks
are due and STUCK_OUTBOX tickets whose outbox a crash left pending (every other ticket has
an empty `outbox_pending`, and a closed one no `next_timer_at`, as the workflow leaves them).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from services.notifier.domain.audience import ACCOUNT
from services.notifier.domain.policy import kind_of, message_for
from services.workflow.domain.rules import parse_rules
from services.workflow.domain.tickets import open_ticket
from services.workflow.settings import DEFAULT_RULES
from services.workflow.store import _state as ticket_state  # what TicketStore.save writes
from shared.events import (
    Actor,
    AffectedService,
    InvestigationStarted,
    OpenTicket,
    TicketDetails,
    TicketOpened,
)
from shared.lifecycle import CLOCKS_STOPPED
from shared.mongo import Document
from shared.vocabulary import (
    Category,
    Channel,
    DeliveryStatus,
    Priority,
    Role,
    Team,
    TicketStatus,
)

SPACING = timedelta(seconds=30)  # a million tickets are about a year of history
EVENTS_APART = timedelta(minutes=7)
NOT_DUE_FOR = timedelta(hours=12)  # no clock falls due while the bench runs, however long
DUE_TICKETS = 25
STUCK_OUTBOX = 10
INCIDENT_EVERY = 100  # one ticket in a hundred is part of an outage
CLOCKS = ("first_response_due", "next_update_due", "resolution_due", "close_due")
STOPPED = {status.value for status in CLOCKS_STOPPED}
NOT_CLOSED = [status.value for status in TicketStatus if status is not TicketStatus.CLOSED]
PRIORITIES = [priority.value for priority in Priority]
PRIORITY_WEIGHTS = [5, 20, 50, 25]
CATEGORIES = [category.value for category in Category]
TEAMS = [team.value for team in Team]
DESK = "desk"  # the contact told by email, beside the account's in-app record
AGENT = Actor(role=Role.AGENT, name="agent-7")
DESCRIPTION = (
    "Outbound calls to Madrid break up every few seconds since 09:00 UTC; inbound calls are "
    "fine. The whole sales floor, desk phones and softphones alike."
)
_ID_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, so index -> id is one-to-one on 64 bits


def ticket_id(index: int) -> str:
    """A ticket id of the shape intake issues, scattered like random ones, from the index."""
    return f"TCK-{(index * _ID_MULTIPLIER) % 2**64:016X}"


def customer_id(number: int) -> str:
    return f"cust-{number:05d}"


def call_id(index: int, which: int = 0) -> str:
    return f"pbx-{index:09d}-{which}"


def event_id(index: int, which: int) -> str:
    """Shaped like the workflow's uuid5 event ids, unique by ticket index and position."""
    return f"{index:08x}-{which:04x}-5000-8000-{index % 2**48:012x}"


def seeded_notification_id(event: str, recipient: str, channel: str) -> str:
    """Shaped like `notification_id` (26 characters of a digest after NTF-), but made ten
    times faster, for the millions of notifications of a seeded history."""
    digest = hashlib.blake2b(f"{event}\x00{recipient}\x00{channel}".encode(), digest_size=13)
    return f"NTF-{digest.hexdigest().upper()}"


class History:
    """`size` tickets of `customers` customers, two notifications each, as of `now`."""

    def __init__(self, size: int, customers: int, open_tickets: int, now: datetime) -> None:
        self.size = size
        self.customers = customers
        self.now = now
        self.first_open = max(0, size - open_tickets)
        open_count = size - self.first_open
        # Spread over the open tickets; the stuck ones are none of the due ones.
        self.due = set(
            range(self.first_open, size, max(1, open_count // DUE_TICKETS))[:DUE_TICKETS]
        )
        self.stuck = set(range(self.first_open + 1, size, 2)[:STUCK_OUTBOX]) - self.due
        self._ticket, self._events, self._message = _templates(now)

    def created_at(self, index: int) -> datetime:
        return self.now - (self.size - index) * SPACING

    def ticket(self, index: int) -> Document:
        """The ticket at `index` of the history, as the workflow stores it."""
        draw = random.Random(index)
        created = self.created_at(index)
        status = draw.choice(NOT_CLOSED) if index >= self.first_open else "closed"
        customer = customer_id(draw.randrange(self.customers))
        times = [created + n * EVENTS_APART for n in range(2 + draw.randrange(2))]
        events = [
            self._event(template, index, which, customer, at)
            for which, (template, at) in enumerate(zip(self._events, times, strict=False))
        ]
        details = {
            "customer_id": customer,
            "category": draw.choice(CATEGORIES),
            "call_ids": [call_id(index, which) for which in range(1 + draw.randrange(3))],
            "description": DESCRIPTION[: 40 + draw.randrange(len(DESCRIPTION) - 40)],
        }
        events[0]["details"] = {**events[0]["details"], **details}  # TicketOpened's report
        team = draw.choice(TEAMS)
        next_timer = self._next_timer(index, status, draw)
        return {
            **self._ticket,
            **details,
            "_id": ticket_id(index),
            "ticket_id": ticket_id(index),
            "version": len(events),
            "status": status,
            "priority": draw.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            "team": team,
            "teams": [team] if draw.random() < 0.9 else sorted({team, draw.choice(TEAMS)}),
            "incident_id": f"INC-{index // 1000:016d}" if index % INCIDENT_EVERY == 0 else None,
            "clocks": self._clocks(status, next_timer),
            "next_timer_at": next_timer,
            "created_at": created,
            "updated_at": times[-1],
            "events": events,
            "outbox_pending": [events[-1]["event_id"]] if index in self.stuck else [],
        }

    def notifications(self, ticket: Document) -> list[Document]:
        """The ticket's TicketOpened news as the notifier stores it: in-app for the account
        (stored is delivered), and an email to the customer's desk, delivered on first try."""
        opened = ticket["events"][0]
        news = self.news(ticket["_id"], ticket["customer_id"], opened)
        created = ticket["created_at"] + timedelta(seconds=1)
        delivered = created + timedelta(seconds=2)
        in_app = self.notification(news, ACCOUNT, Channel.IN_APP, created)
        outcome = {"attempt": 1, "sent_at": delivered, "at": delivered, "delivered": True}
        email = self.email(news, created) | {
            "status": DeliveryStatus.DELIVERED.value,
            "leased_at": created,
            "attempts": 1,
            "delivered_at": delivered,
            "events_owed": False,
            "outcome_recorded_at": delivered,
            "outcomes": [outcome | {"status_code": 250, "error": None}],
        }
        return [in_app, email]

    def news(self, ticket: str, customer: str, event: Document) -> Document:
        """What every notification of a TicketOpened `event` carries: the event, its text."""
        message = {part: text.replace(ticket_id(0), ticket) for part, text in self._message.items()}
        return {
            **message,
            "event_id": event["event_id"],
            "ticket_id": ticket,
            "customer_id": customer,
            "occurred_at": event["occurred_at"],
        }

    def notification(
        self,
        news: Document,
        contact: str,
        channel: Channel,
        created: datetime,
        name: Callable[[str, str, str], str] = seeded_notification_id,
    ) -> Document:
        """A notification of `news` for one contact, as the notifier first stores it on a
        channel where stored is delivered (in-app); `name` makes its id."""
        recipient = f"{news['customer_id']}/{contact}"
        return {
            "_id": name(news["event_id"], recipient, channel.value),
            **news,
            "contact_id": contact,
            "channel": channel.value,
            "address": None,
            "created_at": created,
            "status": DeliveryStatus.DELIVERED.value,
            "delivered_at": created,
            "attempts": 0,
        }

    def email(
        self,
        news: Document,
        created: datetime,
        name: Callable[[str, str, str], str] = seeded_notification_id,
    ) -> Document:
        """An email of `news` to the customer's desk as the notifier first stores it: pending."""
        document = self.notification(news, DESK, Channel.EMAIL, created, name)
        del document["delivered_at"]
        return document | {
            "address": f"{DESK}@{news['customer_id']}.example",
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": created,
            "leased_at": None,
        }

    def _event(
        self, template: Document, index: int, which: int, customer: str, at: datetime
    ) -> Document:
        return {
            **template,
            "event_id": event_id(index, which),
            "ticket_id": ticket_id(index),
            "customer_id": customer,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
        }

    def _next_timer(self, index: int, status: str, draw: random.Random) -> datetime | None:
        if status == "closed":
            return None
        if index in self.due:
            return self.now - timedelta(seconds=1 + draw.randrange(3600))
        return self.now + NOT_DUE_FOR + timedelta(seconds=draw.randrange(3 * 86_400))

    def _clocks(self, status: str, next_timer: datetime | None) -> Document:
        """Clocks whose next due moment is `next_timer`, as the workflow's `next_timer` reads
        them: a command applied to the ticket leaves its `next_timer_at` where it was."""
        clocks = {**self._ticket["clocks"], **dict.fromkeys(CLOCKS, None)}
        if next_timer is None:
            return clocks
        if status in STOPPED:
            return clocks | {"close_due": next_timer}
        return clocks | {
            "first_response_due": next_timer,
            "next_update_due": next_timer + timedelta(hours=3),
            "resolution_due": next_timer + timedelta(days=3),
        }


def _templates(now: datetime) -> tuple[Document, list[Document], Document]:
    """A ticket's state, the first three events of its timeline and the text of the news
    of its opening, each made by the services' own code."""
    details = TicketDetails(
        customer_id=customer_id(0),
        category=Category.CALL_QUALITY,
        summary="Choppy audio on outbound calls to Madrid",
        description=DESCRIPTION,
        call_ids=[call_id(0)],
        affected_users=12,
        reporting_system="pbx-monitor",
        affected=AffectedService(region="eu-south", product="cloud-pbx"),
    )
    command = OpenTicket(
        command_id="bench-store",
        issued_at=now,
        issued_by=Actor(role=Role.SYSTEM, name="pbx-monitor"),
        ticket_id=ticket_id(0),
        details=details,
        request_hash="0" * 64,
    )
    decision = open_ticket(command, now, parse_rules(DEFAULT_RULES.read_text()))
    investigating = InvestigationStarted(
        event_id=event_id(0, 2),
        occurred_at=now,
        ticket_id=ticket_id(0),
        customer_id=customer_id(0),
        actor=AGENT,
        from_status=TicketStatus.TRIAGED,
        to_status=TicketStatus.INVESTIGATING,
    )
    events = [event.model_dump(mode="json") for event in (*decision.events, investigating)]
    opened = decision.events[0]
    assert isinstance(opened, TicketOpened)
    message = message_for(opened)
    assert message is not None
    notification = {
        "event_type": type(opened).__name__,
        "kind": kind_of(opened).value,
        "language": "en",
        "subject": message.subject,
        "body": message.body,
    }
    return ticket_state(decision.ticket), events, notification
