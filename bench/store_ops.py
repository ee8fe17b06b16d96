"""The store bench's operations, made by the services' own code (TicketStore,
NotificationStore, the finds of intake's Reads), timed in closed loops (bench.stats) on
fresh random ids; and the raw baselines beside them."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import mean
from time import perf_counter

from pymongo import ReturnDocument

from bench.baselines import mongo_document
from bench.stats import Figures, closed_loop, percentile
from bench.store_documents import AGENT, History, customer_id, ticket_id
from bench.store_finds import RELAY_LIMIT, Read, due_reads, lookup_reads, recorded
from services.notifier.notifications.store import NotificationStore
from services.workflow.domain.tickets import Decision
from services.workflow.store import (
    CLAIM_CANDIDATES,
    TicketStore,
    pending_events,
    ticket_from_document,
)
from shared.events import PublicUpdatePosted
from shared.mongo import Collection, Collections, Database, Document
from shared.vocabulary import notification_id

Operation = Callable[[int], Awaitable[None]]
Calls = dict[str, list[float]]  # seconds each call of an operation took

RAW = "raw_documents"  # the bare collection of the raw baselines: `_id` its only index
WARM_UP = 3  # operations before each timed loop, untimed; they also set its pace
LEAST = 5  # timed operations however slow they are
DELIVERED = {"delivered": True, "status_code": 250, "error": None}  # as Deliveries records it
UPDATE = "Reproduced on the Madrid route; calls are being rerouted."


@dataclass
class Workload:
    """One size's database and history, and how much to do of each operation."""

    database: Database
    history: History
    ops: int  # timed operations, one at a time (latency)
    throughput_ops: int  # timed operations from `concurrency` tasks
    concurrency: int
    budget_s: float  # about how long one timed loop may last: fewer operations if slow
    closed_lookup: bool = True  # time `lookup_closed` too
    rng: random.Random = field(default_factory=random.Random)
    returned: dict[str, list[int]] = field(default_factory=dict)

    @property
    def tickets(self) -> Collection:
        return self.database[Collections.TICKETS]

    @property
    def notifications(self) -> Collection:
        return self.database[Collections.NOTIFICATIONS]

    def draws(self, count: int) -> list[int]:
        """Random ticket indexes for a loop's operations (warm-up included)."""
        return [self.rng.randrange(self.history.size) for _ in range(count + WARM_UP)]

    def distinct_draws(self, count: int) -> list[int]:
        """As `draws`, but no two alike (no lost races between the tasks of a loop) and none
        of the tickets the due-work queries must find (their number stays known)."""
        history, wanted = self.history, count + WARM_UP
        known = history.due | history.stuck
        picks = self.rng.sample(range(history.size), min(history.size, wanted + len(known)))
        return [index for index in picks if index not in known][:wanted]

    async def timed(self, name: str, operation: Operation, concurrency: int, most: int) -> Figures:
        """`operation(WARM_UP + i)` timed for up to `most` values of i at `concurrency`;
        figures named `name`, with `_c<concurrency>` unless one at a time."""
        started = perf_counter()
        for index in range(WARM_UP):
            await operation(index)
        pace = (perf_counter() - started) / WARM_UP
        count = min(most, max(LEAST, int(self.budget_s * concurrency / max(pace, 1e-6))))
        sample = await closed_loop(count, concurrency, lambda i: operation(WARM_UP + i))
        label = name if concurrency == 1 else f"{name}_c{concurrency}"
        figures = sample.figures(label, "ops") | {f"{label}_count": float(count)}
        if name in self.returned:  # finds: how many documents each one returned
            figures[f"{label}_returned"] = mean(self.returned.pop(name))
        return figures

    async def latency_and_throughput(self, name: str, operation: Operation) -> Figures:
        one = await self.timed(name, operation, 1, self.ops)
        return one | await self.timed(name, operation, self.concurrency, self.throughput_ops)

    async def found(self, name: str, documents: Awaitable[list[Document]]) -> None:
        self.returned.setdefault(name, []).append(len(await documents))

    def finder(self, name: str, read: Read) -> Operation:
        """The find `read` makes (its query made afresh each time), run on the store."""

        async def find(_: int) -> None:
            found = await recorded(read)
            cursor = self.database[found.collection].find(*found.args, **found.kwargs)
            await self.found(name, cursor.to_list())

        return find


async def command_apply(work: Workload) -> Figures:
    """The workflow's write path for a command on a stored ticket, minus Kafka: load it,
    decide (here: a public update, one event), save state + event + outbox guarded by the
    version (find_one_and_update), then mark the event published ($pullAll)."""
    store = TicketStore(work.tickets)
    figures: Figures = {}
    for concurrency, most in ((1, work.ops), (work.concurrency, work.throughput_ops)):
        picks = work.distinct_draws(most)
        calls: Calls = {"get": [], "save": [], "mark_published": []}

        async def apply(index: int, picks: list[int] = picks, calls: Calls = calls) -> None:
            started = perf_counter()
            document = await store.get(ticket_id(picks[index]))
            if document is None:
                raise LookupError(f"ticket {ticket_id(picks[index])} is not stored")
            loaded = perf_counter()
            ticket = ticket_from_document(document)
            now = datetime.now(UTC)
            event = PublicUpdatePosted(
                event_id=str(uuid.uuid4()),
                occurred_at=now,
                ticket_id=ticket.ticket_id,
                customer_id=ticket.details.customer_id,
                actor=AGENT,
                message=UPDATE,
            )
            changed = ticket.model_copy(update={"version": ticket.version + 1, "updated_at": now})
            decided = perf_counter()
            saved = await store.save(Decision(ticket=changed, events=(event,)), ticket.version)
            published = perf_counter()  # (the outbox publishes to Kafka here)
            sent = [e["event_id"] for e in pending_events(saved)]  # as Outbox.flush marks them
            await store.mark_published(ticket.ticket_id, sent)
            calls["get"].append(loaded - started)
            calls["save"].append(published - decided)
            calls["mark_published"].append(perf_counter() - published)

        figures |= await work.timed("command_apply", apply, concurrency, len(picks) - WARM_UP)
        if concurrency == 1:  # where one command's time goes, call by call
            for call, seconds in calls.items():
                figures[f"command_apply_{call}_p50_ms"] = percentile(seconds, 50) * 1000
    return figures


async def notification_stored(work: Workload) -> Figures:
    """The notifier storing an email of a new event (insert, the notifier's deterministic
    id), then recording its delivery ($set, $inc, $push), by NotificationStore itself."""
    store = NotificationStore(work.notifications)
    figures: Figures = {}
    for concurrency, most in ((1, work.ops), (work.concurrency, work.throughput_ops)):
        stored: list[str] = []
        picks = work.draws(most)

        async def add(index: int, picks: list[int] = picks, stored: list[str] = stored) -> None:
            ticket = picks[index]
            customer = customer_id(work.rng.randrange(work.history.customers))
            now = datetime.now(UTC)
            event = {"event_id": str(uuid.uuid4()), "occurred_at": now.isoformat()}
            news = work.history.news(ticket_id(ticket), customer, event)
            document = work.history.email(news, now, notification_id)
            await store.add([document])
            stored.append(document["_id"])

        async def deliver(index: int, stored: list[str] = stored) -> None:
            now = datetime.now(UTC)
            outcome = {"attempt": 1, "sent_at": now, "at": now, **DELIVERED}
            await store.record_delivered(stored[index], now, outcome)

        figures |= await work.timed("notification_store", add, concurrency, most)
        delivered = len(stored) - WARM_UP  # each delivery is of a notification just stored
        figures |= await work.timed("notification_outcome", deliver, concurrency, delivered)
    return figures


async def lookups(work: Workload) -> Figures:
    """intake's lists (store_finds.lookup_reads), one at a time; the closed tickets unless
    `closed_lookup` is off: a store that sorts the whole match for the first 50 may take
    longer than the client waits, or run out of heap."""
    figures: Figures = {}
    for name, read in lookup_reads(work.history, work.rng).items():
        if name != "lookup_closed" or work.closed_lookup:
            figures |= await work.timed(name, work.finder(name, read), 1, work.ops)
    return figures


async def due_work(work: Workload) -> Figures:
    """The scheduler's and the outbox relay's queries (store_finds.due_reads), with how many
    documents they returned against how many the history holds for them."""
    figures: Figures = {}
    for name, read in due_reads().items():
        figures |= await work.timed(name, work.finder(name, read), 1, work.ops)
    history = work.history
    return figures | {
        "due_timers_expected": float(min(len(history.due), CLAIM_CANDIDATES)),
        "due_outbox_expected": float(min(len(history.stuck), RELAY_LIMIT)),
    }


def raw_document(index: int) -> Document:
    """The bare collection's documents: bench.baselines' ~1 KB ones."""
    return mongo_document("raw", index)


def raw_id(index: int) -> str:
    return f"raw-{index:08d}"  # mongo_document's _id


async def raw_baselines(work: Workload) -> Figures:
    """The same calls on the bare collection of ~1 KB documents (bench.baselines): find_one,
    insert_one and update_one by `_id`, and the three round trips of a command apply."""
    raw = work.database[RAW]
    size = work.history.size
    tag, sequence = f"raw-{uuid.uuid4().hex[:8]}", itertools.count()

    def some_id() -> str:
        return raw_id(work.rng.randrange(size))

    async def find(_: int) -> None:
        await raw.find_one({"_id": some_id()})

    async def insert(_: int) -> None:
        await raw.insert_one(mongo_document(tag, next(sequence)))

    async def update(_: int) -> None:
        changes = {"$set": {"status": "investigating", "updated_at": datetime.now(UTC)}}
        await raw.update_one({"_id": some_id()}, changes | {"$inc": {"version": 1}})

    async def apply(_: int) -> None:
        document_id = some_id()
        await raw.find_one({"_id": document_id})
        changes = {"$set": {"updated_at": datetime.now(UTC)}, "$push": {"outbox": "e"}}
        await raw.find_one_and_update(
            {"_id": document_id}, changes, return_document=ReturnDocument.AFTER
        )
        await raw.update_one({"_id": document_id}, {"$pullAll": {"outbox": ["e"]}})

    figures = await work.timed("raw_find", find, 1, work.ops)
    figures |= await work.latency_and_throughput("raw_insert", insert)
    figures |= await work.latency_and_throughput("raw_update", update)
    return figures | await work.latency_and_throughput("raw_apply", apply)
