"""Small fakes that hold state in memory, standing in for the MongoDB-backed stores."""

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from services.notifier.channels.base import DeliveryResult
from services.notifier.store import CustomerDirectory, NotificationStore
from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules
from services.workflow.domain.tickets import Decision
from services.workflow.store import ConcurrentUpdate, TicketStore, _state, ticket_from_document
from shared.customers import Contact
from shared.deliveries import NotificationEvent
from shared.events import Actor, AddInternalNote, OpenTicket, TicketDetails
from shared.mongo import Collection, Document
from shared.vocabulary import Category, DeliveryStatus, Role

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def ticket_details(
    customer_id: str = "acme-telecom", category: Category = Category.CALL_QUALITY
) -> TicketDetails:
    return TicketDetails(
        customer_id=customer_id,
        category=category,
        summary="Choppy audio on outbound calls to Madrid",
        call_ids=["c-20261125-0001"],
        reporting_system="crm",
    )


def open_ticket_command(
    ticket_id: str = "TCK-0123456789ABCDEF",
    details: TicketDetails | None = None,
    request_hash: str = "a" * 64,
) -> OpenTicket:
    return OpenTicket(
        command_id=f"open:{ticket_id}",
        issued_at=NOW,
        issued_by=Actor(role=Role.SYSTEM, name="crm"),
        ticket_id=ticket_id,
        details=details or ticket_details(),
        request_hash=request_hash,
    )


class FakeTicketStore(TicketStore):
    """Ticket documents in a dict, with the semantics of the MongoDB store: a save is refused
    with ConcurrentUpdate unless the ticket is still at the version it was loaded at."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.saves = 0

    async def get(self, ticket_id: str) -> Document | None:
        document = self.documents.get(ticket_id)
        return copy.deepcopy(document) if document is not None else None

    async def save(self, decision: Decision, loaded_version: int | None) -> Document:
        ticket_id = decision.ticket.ticket_id
        current = self.documents.get(ticket_id)
        if (current is None) != (loaded_version is None) or (
            current is not None and current["version"] != loaded_version
        ):
            raise ConcurrentUpdate(ticket_id)
        events = [event.model_dump(mode="json") for event in decision.events]
        before: Document = current or {"_id": ticket_id, "events": [], "outbox_pending": []}
        self.documents[ticket_id] = {
            **before,
            **_state(decision.ticket),
            "events": before["events"] + events,
            "outbox_pending": before["outbox_pending"] + [e["event_id"] for e in events],
        }
        self.saves += 1
        return copy.deepcopy(self.documents[ticket_id])

    async def record_delivery(self, ticket_id: str, entry: Document) -> bool:
        document = self.documents.get(ticket_id)
        deliveries = document.setdefault("deliveries", []) if document is not None else None
        if deliveries is None or any(d["event_id"] == entry["event_id"] for d in deliveries):
            return False
        deliveries.append(copy.deepcopy(entry))
        return True

    async def mark_published(self, ticket_id: str, event_ids: list[str]) -> None:
        document = self.documents[ticket_id]
        document["outbox_pending"] = [
            e for e in document["outbox_pending"] if e not in set(event_ids)
        ]

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]:
        stale = [
            copy.deepcopy(document)
            for document in self.documents.values()
            if document["outbox_pending"] and document["updated_at"] < updated_before
        ]
        return stale[:limit]

    async def claim_due_timer(self, now: datetime, lease: timedelta) -> Document | None:
        """Claims live apart from the tickets, one per ticket and due moment, as in MongoDB."""
        claims: dict[str, datetime] = self.__dict__.setdefault("claims", {})
        due = sorted(
            (
                d
                for d in self.documents.values()
                if d["next_timer_at"] is not None and d["next_timer_at"] <= now
            ),
            key=lambda d: d["next_timer_at"],
        )
        for document in due:
            claim = f"{document['_id']}:{document['next_timer_at'].isoformat()}"
            if claims.get(claim, now) <= now:
                claims[claim] = now + lease
                return copy.deepcopy(document)
        return None


class FailingTicketStore(FakeTicketStore):
    """Raises the given errors, one per read, before behaving normally."""

    def __init__(self, *errors: BaseException) -> None:
        super().__init__()
        self.errors = list(errors)
        self.reads = 0

    async def get(self, ticket_id: str) -> Document | None:
        self.reads += 1
        if self.errors:
            raise self.errors.pop(0)
        return await super().get(ticket_id)


class RacedTicketStore(FailingTicketStore):
    """Another workflow instance saves an internal note to the ticket just before each of the
    next `races` saves, so those saves find the ticket moved on."""

    def __init__(self, races: int, rules: Rules) -> None:
        super().__init__()
        self.races = races
        self.rules = rules

    async def save(self, decision: Decision, loaded_version: int | None) -> Document:
        if self.races and loaded_version is not None:
            self.races -= 1
            await self._rival_writes(decision.ticket.ticket_id)
        return await super().save(decision, loaded_version)

    async def _rival_writes(self, ticket_id: str) -> None:
        ticket = ticket_from_document(self.documents[ticket_id])
        note = AddInternalNote(
            command_id=f"rival-note:{ticket.version}",
            issued_at=NOW,
            issued_by=Actor(role=Role.AGENT, name="another-agent"),
            ticket_id=ticket_id,
            text="Looked at it from the other desk",
        )
        await super().save(decide(ticket, note, NOW, self.rules), ticket.version)


class FakeNotificationStore(NotificationStore):
    """Notification documents in a dict, updated as the MongoDB store updates them."""

    def __init__(self, *documents: Document) -> None:
        self.documents: dict[str, Document] = {d["_id"]: dict(d) for d in documents}

    async def add_new(self, documents: list[Document]) -> set[str]:
        new = [d for d in documents if d["_id"] not in self.documents]
        self.documents.update({d["_id"]: dict(d) for d in new})
        return {d["_id"] for d in new}

    async def fold_into_held(self, document: Document) -> str | None:
        held = sorted(
            (
                d
                for d in self.documents.values()
                if (d["ticket_id"], d["contact_id"], d["channel"])
                == (document["ticket_id"], document["contact_id"], document["channel"])
                and d["status"] == DeliveryStatus.PENDING.value
                and d.get("leased_at") is None
                and d["created_at"] < document["created_at"]
            ),
            key=lambda d: d["created_at"],
        )
        if not held:
            return None
        part = {
            key: document[key]
            for key in ("_id", "event_id", "event_type", "subject", "body", "occurred_at")
        }
        held[0].setdefault("digest", []).append(part)
        self.documents[document["_id"]].update(
            status=DeliveryStatus.COLLAPSED.value, collapsed_into=held[0]["_id"]
        )
        return str(held[0]["_id"])

    async def lease_due(self, now: datetime, lease: timedelta) -> Document | None:
        due = sorted(
            (
                d
                for d in self.documents.values()
                if d["status"] == DeliveryStatus.PENDING.value and d["next_attempt_at"] <= now
            ),
            key=lambda d: d["next_attempt_at"],
        )
        if not due:
            return None
        due[0]["next_attempt_at"] = now + lease
        due[0]["leased_at"] = now
        return dict(due[0])

    async def record_delivered(
        self, notification_id: str, now: datetime, outcome: Document
    ) -> None:
        document = self.documents[notification_id]
        document.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now)
        self._count_attempt(document, outcome)

    async def record_failed_attempt(
        self, notification_id: str, outcome: Document, retry_at: datetime | None
    ) -> None:
        document = self.documents[notification_id]
        if retry_at is None:
            document["status"] = DeliveryStatus.FAILED.value
        else:
            document["next_attempt_at"] = retry_at
        document["last_error"] = outcome.get("error")
        self._count_attempt(document, outcome)

    async def mark_events_published(self, notification_id: str, attempts: int) -> None:
        document = self.documents[notification_id]
        if document.get("attempts", 0) == attempts:
            document["events_owed"] = False

    async def owing_events(self, recorded_before: datetime, limit: int) -> list[Document]:
        owing = [
            copy.deepcopy(d)
            for d in self.documents.values()
            if d.get("events_owed") and d["outcome_recorded_at"] < recorded_before
        ]
        return owing[:limit]

    @staticmethod
    def _count_attempt(document: Document, outcome: Document) -> None:
        document["attempts"] = document.get("attempts", 0) + 1
        document.setdefault("outcomes", []).append(outcome)
        document.update(events_owed=True, outcome_recorded_at=outcome["at"])


class FakeCustomers:
    """The customers collection, answering the one lookup the directory makes: by _id."""

    def __init__(self, *customers: Document) -> None:
        self.documents = {c["_id"]: c for c in customers}

    async def find_one(self, query: Document) -> Document | None:
        return copy.deepcopy(self.documents.get(query["_id"]))


class FakeCustomerDirectory(CustomerDirectory):
    """The real directory, reading customer documents from memory."""

    def __init__(self, *customers: Document) -> None:
        self.customers = FakeCustomers(*customers)
        super().__init__(cast(Collection, self.customers))


@dataclass
class FakeChannel:
    """A delivery channel that answers with the results it was given, in turn."""

    results: Iterator[DeliveryResult] = field(default_factory=lambda: iter(()))
    deliveries: list[tuple[Document, Contact]] = field(default_factory=list)

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        self.deliveries.append((notification, contact))
        return next(self.results, DeliveryResult(delivered=True, status_code=204))


@dataclass
class RecordedDeliveryEvents:
    """Keeps the delivery events the notifier publishes; fails while `down` is set."""

    published: list[NotificationEvent] = field(default_factory=list)
    down: bool = False

    async def publish(self, events: Sequence[NotificationEvent]) -> None:
        if self.down:
            raise ConnectionError("Kafka is down")
        self.published.extend(events)

    def types(self) -> list[str]:
        return [event.type for event in self.published]


class Cursor:
    """What `find` returns: documents, asynchronously iterated."""

    def __init__(self, documents: list[Document]) -> None:
        self._documents = iter(documents)

    def __aiter__(self) -> "Cursor":
        return self

    async def __anext__(self) -> Document:
        try:
            return next(self._documents)
        except StopIteration:
            raise StopAsyncIteration from None
