"""Small fakes that hold state in memory, standing in for the MongoDB-backed stores."""

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from services.notifier.broadcasts.store import BroadcastStore, ChunkProgress
from services.notifier.channels.base import DeliveryResult
from services.notifier.directory import CustomerDirectory
from services.notifier.notifications.store import NotificationStore
from services.workflow.directory import ServiceDirectory
from services.workflow.domain.incidents import Incident, IncidentDecision
from services.workflow.domain.lifecycle import decide
from services.workflow.domain.rules import Rules, ServiceAttribute
from services.workflow.domain.tickets import Decision
from services.workflow.incident_store import IncidentStore, incident_from_document
from services.workflow.incident_store import _state as incident_state
from services.workflow.store import (
    OPEN_STATUSES,
    ConcurrentUpdate,
    TicketStore,
    _state,
    ticket_from_document,
)
from shared.customers import Contact, Services
from shared.deliveries import NotificationEvent
from shared.events import Actor, AddInternalNote, OpenTicket, TicketDetails
from shared.incidents import DeclareIncident, IncidentScope, Severity
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


class VersionedDocuments:
    """Aggregate documents in a dict, with the semantics of the MongoDB store: a save is
    refused with ConcurrentUpdate unless the document is still at the version it was loaded
    at; the events are appended to its timeline and its outbox."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.saves = 0

    async def get(self, aggregate_id: str) -> Document | None:
        document = self.documents.get(aggregate_id)
        return copy.deepcopy(document) if document is not None else None

    async def get_many(self, aggregate_ids: Iterable[str]) -> dict[str, Document]:
        found = {i: await self.get(i) for i in aggregate_ids}
        return {i: document for i, document in found.items() if document is not None}

    async def mark_published(self, aggregate_id: str, event_ids: list[str]) -> None:
        document = self.documents[aggregate_id]
        document["outbox_pending"] = [
            e for e in document["outbox_pending"] if e not in set(event_ids)
        ]

    async def mark_published_many(self, sent: Mapping[str, list[str]]) -> None:
        for aggregate_id, event_ids in sent.items():
            await self.mark_published(aggregate_id, event_ids)

    def _save_versioned(
        self,
        aggregate_id: str,
        state: Document,
        events: list[Document],
        loaded_version: int | None,
    ) -> Document:
        current = self.documents.get(aggregate_id)
        if (current is None) != (loaded_version is None) or (
            current is not None and current["version"] != loaded_version
        ):
            raise ConcurrentUpdate(aggregate_id)
        before: Document = current or {"_id": aggregate_id, "events": [], "outbox_pending": []}
        self.documents[aggregate_id] = {
            **before,
            **state,
            "events": before["events"] + events,
            "outbox_pending": before["outbox_pending"] + [e["event_id"] for e in events],
        }
        self.saves += 1
        return copy.deepcopy(self.documents[aggregate_id])


class FakeTicketStore(VersionedDocuments, TicketStore):
    """Ticket documents in a dict, versioned as in MongoDB."""

    async def save(self, decision: Decision, loaded_version: int | None) -> Document:
        events = [event.model_dump(mode="json") for event in decision.events]
        state = _state(decision.ticket)
        return self._save_versioned(decision.ticket.ticket_id, state, events, loaded_version)

    async def record_delivery(self, ticket_id: str, entry: Document) -> bool:
        document = self.documents.get(ticket_id)
        deliveries = document.setdefault("deliveries", []) if document is not None else None
        if deliveries is None or any(d["event_id"] == entry["event_id"] for d in deliveries):
            return False
        deliveries.append(copy.deepcopy(entry))
        return True

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

    async def open_in_categories(self, categories: list[Category]) -> list[Document]:
        return [
            copy.deepcopy(d)
            for d in self.documents.values()
            if d["status"] in OPEN_STATUSES and d["category"] in categories
        ]

    async def open_linked_to(self, incident_id: str) -> list[str]:
        return [
            d["_id"]
            for d in self.documents.values()
            if d.get("incident_id") == incident_id and d["status"] in OPEN_STATUSES
        ]

    async def count_similar(
        self,
        category: Category,
        attribute: ServiceAttribute,
        value: str,
        after: datetime,
        until: datetime,
    ) -> int:
        return sum(
            1
            for d in self.documents.values()
            if d["category"] == category
            and (d.get("affected") or {}).get(attribute) == value
            and after < d["created_at"] <= until
        )


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

    async def attempt_states(self, ids: list[str]) -> list[Document]:
        return [
            {"_id": i, "status": d["status"], "attempts": d.get("attempts", 0)}
            for i in ids
            if (d := self.documents.get(i)) is not None
        ]

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
            # Never tried first, then by due time: retries never starve fresh work.
            key=lambda d: (d.get("attempts") not in (None, 0), d["next_attempt_at"]),
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
    """The customers collection, answering the lookups the directory makes: by _id, and the
    queries that narrow an outage's audience ($or of $in and $regex, on dotted paths)."""

    def __init__(self, *customers: Document) -> None:
        self.documents = {c["_id"]: c for c in customers}
        self.finds = 0
        self.lookups = 0

    async def find_one(self, query: Document) -> Document | None:
        self.lookups += 1
        return copy.deepcopy(self.documents.get(query["_id"]))

    def find(
        self,
        query: Document,
        sort: list[tuple[str, int]] | None = None,
        projection: Document | None = None,
        batch_size: int = 0,  # one batch: what a real cursor's round trips are is the store's
    ) -> "Cursor":
        self.finds += 1
        found = [copy.deepcopy(d) for d in self.documents.values() if _matches(d, query)]
        if sort is not None:
            found.sort(key=lambda d: d["_id"])
        return Cursor(found)


def _matches(document: Document, query: Document) -> bool:
    for path, condition in query.items():
        if path == "$or":
            if not any(_matches(document, clause) for clause in condition):
                return False
            continue
        values = _values_at(document, path.split("."))
        if isinstance(condition, dict) and "$in" in condition:
            found = any(value in condition["$in"] for value in values)
        elif isinstance(condition, dict) and "$regex" in condition:
            pattern = re.compile(condition["$regex"])
            found = any(isinstance(value, str) and pattern.search(value) for value in values)
        else:
            found = condition in values
        if not found:
            return False
    return True


def _values_at(value: object, path: list[str]) -> list[object]:
    """Every value at a dotted path, looking into arrays as MongoDB does."""
    if isinstance(value, list):
        return [found for item in value for found in _values_at(item, path)]
    if not path:
        return [value]
    if not isinstance(value, dict) or path[0] not in value:
        return []
    return _values_at(value[path[0]], path[1:])


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


def declare_incident_command(incident_id: str = "INC-0123456789ABCDEF") -> DeclareIncident:
    return DeclareIncident(
        command_id=f"declare:{incident_id}",
        issued_at=NOW,
        issued_by=Actor(role=Role.AGENT, name="noc-desk"),
        incident_id=incident_id,
        title="Calls to Madrid fail on carrier B",
        severity=Severity.CRITICAL,
        scope=IncidentScope(regions=("eu-south",)),
        message="Outbound calls to Madrid fail. Engineers are rerouting traffic.",
        request_hash="b" * 64,
    )


# --- a MongoDB collection in memory, answering only the operators the code uses -----------

_ABSENT = object()


def _field(document: Document, path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _is(value: Any, wanted: Any) -> bool:
    if wanted is None:
        return value is _ABSENT or value is None
    if isinstance(value, list):
        return wanted in value or value == wanted
    return bool(value == wanted)


# Anything else fails the test loudly (KeyError): a new operator needs a store-suite test first.
QUERY_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$in": lambda value, operand: any(_is(value, w) for w in operand),
    "$ne": lambda value, operand: not _is(value, operand),
}


def matches_query(document: Document, query: Document) -> bool:
    for key, condition in query.items():
        if key == "$or":
            if not any(matches_query(document, alternative) for alternative in condition):
                return False
        elif isinstance(condition, dict) and any(k.startswith("$") for k in condition):
            value = _field(document, key)
            if not all(QUERY_OPERATORS[op](value, arg) for op, arg in condition.items()):
                return False
        elif not _is(_field(document, key), condition):
            return False
    return True


def _projected(document: Document, projection: Document | None) -> Document:
    if not projection:
        return copy.deepcopy(document)
    if all(not shown for shown in projection.values()):
        return {k: copy.deepcopy(v) for k, v in document.items() if k not in projection}
    return {k: copy.deepcopy(v) for k, v in document.items() if k in projection or k == "_id"}


def _grouped(documents: list[Document], stage: Document) -> list[Document]:
    """`$group` by field paths, counting with `$sum: 1`."""
    keys = stage["_id"]
    if set(stage) - {"_id"} != {"count"} or stage["count"] != {"$sum": 1}:
        raise KeyError(f"unsupported $group: {stage}")
    counted = Counter(
        tuple((name, _field(d, path.removeprefix("$"))) for name, path in keys.items())
        for d in documents
    )
    return [
        {"_id": {name: (None if v is _ABSENT else v) for name, v in key}, "count": n}
        for key, n in counted.items()
    ]


@dataclass
class FakeCollection:
    """find, find_one, count_documents and a `$match` + `$group` aggregate; remembers queries."""

    documents: list[Document] = field(default_factory=list)
    queries: list[Document] = field(default_factory=list)
    pipelines: list[list[Document]] = field(default_factory=list)

    async def find_one(
        self, query: Document, projection: Document | None = None
    ) -> Document | None:
        self.queries.append(query)
        found = next((d for d in self.documents if matches_query(d, query)), None)
        return _projected(found, projection) if found is not None else None

    def find(
        self,
        query: Document,
        projection: Document | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
    ) -> Cursor:
        self.queries.append(query)
        found = [_projected(d, projection) for d in self.documents if matches_query(d, query)]
        for key, direction in reversed(sort or []):
            found.sort(key=lambda d: _field(d, key), reverse=direction < 0)
        return Cursor(found[:limit] if limit else found)

    async def count_documents(self, query: Document) -> int:
        self.queries.append(query)
        return sum(1 for d in self.documents if matches_query(d, query))

    async def aggregate(self, pipeline: list[Document]) -> Cursor:
        self.pipelines.append(pipeline)
        documents = self.documents
        for stage in pipeline:
            ((name, spec),) = stage.items()
            if name == "$match":
                documents = [d for d in documents if matches_query(d, spec)]
            elif name == "$group":
                documents = _grouped(documents, spec)
            else:
                raise KeyError(f"unsupported stage {name}")
        return Cursor(copy.deepcopy(documents))


class FakeDatabase(dict[str, FakeCollection]):
    """Collections by name, created empty on first use."""

    def __missing__(self, name: str) -> FakeCollection:
        return self.setdefault(name, FakeCollection())


class FakeIncidentStore(VersionedDocuments, IncidentStore):
    """Incident documents in a dict, versioned as in MongoDB."""

    async def save(self, decision: IncidentDecision, loaded_version: int | None) -> Document:
        events = [event.model_dump(mode="json") for event in decision.events]
        state = incident_state(decision.incident)
        return self._save_versioned(decision.incident.incident_id, state, events, loaded_version)

    async def with_pending_events(self, updated_before: datetime, limit: int) -> list[Document]:
        stale = [
            copy.deepcopy(document)
            for document in self.documents.values()
            if document["outbox_pending"] and document["updated_at"] < updated_before
        ]
        return stale[:limit]

    async def incident(self, incident_id: str) -> Incident | None:
        document = self.documents.get(incident_id)
        return incident_from_document(document) if document is not None else None

    async def open_incidents(self) -> list[Incident]:
        return [
            incident_from_document(document)
            for document in self.documents.values()
            if document["status"] == "open"
        ]


class FakeServiceDirectory(ServiceDirectory):
    """The services each customer uses, from memory."""

    def __init__(self, services: dict[str, Services] | None = None) -> None:
        self.services = services or {}

    async def services_of(self, customer_ids: list[str]) -> dict[str, Services]:
        return {c: self.services[c] for c in customer_ids if c in self.services}


class FakeBroadcastStore(BroadcastStore):
    """Broadcast plans and chunk progress in dicts, written as the MongoDB store writes them."""

    def __init__(self) -> None:
        self.plans: dict[str, Document] = {}
        self.chunks: dict[str, Document] = {}

    async def planned(self, event_id: str) -> bool:
        return event_id in self.plans

    async def record_plan(self, plan: Document) -> None:
        self.plans.setdefault(plan["_id"], dict(plan))

    async def progress(self, chunk_key: str) -> ChunkProgress | None:
        document = self.chunks.get(chunk_key)
        if document is None:
            return None
        return ChunkProgress(
            owner=document["owner"],
            lease_until=document["lease_until"],
            completed=document["completed_at"] is not None,
            stored=frozenset(document["stored"]),
        )

    async def start(
        self, chunk_key: str, owner: str, lease_until: datetime, info: Document
    ) -> bool:
        if chunk_key in self.chunks:
            return False
        self.chunks[chunk_key] = {
            **info,
            "owner": owner,
            "lease_until": lease_until,
            "stored": [],
            "completed_at": None,
        }
        return True

    async def take_over(self, chunk_key: str, owner: str, lease_until: datetime) -> None:
        self.chunks[chunk_key].update(owner=owner, lease_until=lease_until)

    async def record_stored(
        self,
        chunk_key: str,
        ids: list[str],
        lease_until: datetime,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        self.chunks[chunk_key]["stored"].extend(ids)
        self.chunks[chunk_key]["lease_until"] = lease_until
        self._count(chunk_key, counts or {})

    async def count_in_app(self, chunk_key: str, delivered: int) -> None:
        chunk = self.chunks[chunk_key]
        if delivered and not chunk.get("in_app_counted"):
            chunk["in_app_counted"] = True
            self._count(chunk_key, {"delivered": delivered})

    async def count_settled(self, chunk_key: str, notification_id: str, status: str) -> None:
        settled = self.chunks[chunk_key].setdefault("settled", [])
        if notification_id not in settled:
            settled.append(notification_id)
            self._count(chunk_key, {"pending": -1, status: 1})

    async def count_recovered(self, chunk_key: str, notification_id: str, status: str) -> None:
        recounted = self.chunks[chunk_key].setdefault("recounted", [])
        if notification_id not in recounted:
            recounted.append(notification_id)
            self._count(chunk_key, {status: 1})

    def _count(self, chunk_key: str, counts: Mapping[str, int]) -> None:
        tally = self.chunks[chunk_key].setdefault("counts", {})
        for status, n in counts.items():
            tally[status] = tally.get(status, 0) + n

    async def complete(self, chunk_key: str, now: datetime, notifications: int) -> None:
        self.chunks[chunk_key].update(completed_at=now, stored=[], notifications=notifications)
