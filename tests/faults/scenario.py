"""One fault run on the real stack: steady ticket load and an outage broadcast, a fault injected
in the middle, then every ticket, notification and webhook counted from the customer's side."""

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.directory import seed_region
from services.intake.customers.directory import customer_document
from shared.customers import Contact, Customer, WebhookAddress
from shared.mongo import Collections, Database, Document
from tests.e2e.support import Keys, ReceivedRequest

TICKET_CHANNELS = ("in_app", "webhook")  # the load's customer hears of each ticket on both
SETTLE_TIMEOUT_S = 150.0


@dataclass
class WebhookCounter:
    """Counts the requests per `webhook-id` and notes when each ticket was first heard of."""

    url: str
    per_id: Counter[str] = field(default_factory=Counter)
    arrivals: list[float] = field(default_factory=list)
    first_for_ticket: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: ReceivedRequest) -> int:
        now = time.monotonic()
        ticket_id = json.loads(request.body).get("ticket_id")
        with self.lock:
            self.per_id[request.headers.get("webhook-id", "")] += 1
            self.arrivals.append(now)
            if ticket_id:
                self.first_for_ticket.setdefault(ticket_id, now)
        return 200

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.per_id)

    def first_arrival_after(self, moment: float) -> float | None:
        with self.lock:
            return next((t for t in self.arrivals if t > moment), None)

    def ticket_heard_at(self, ticket_id: str) -> float | None:
        with self.lock:
            return self.first_for_ticket.get(ticket_id)


@dataclass
class FaultCounts:
    """What one fault run counted; `missing` and `duplicated` are what must stay in bounds."""

    fault: str
    accepted: int = 0  # tickets answered 202
    refused: dict[str, int] = field(default_factory=dict)  # other answers, by status
    unanswered: int = 0  # no answer at all (intake down)
    readable: int = 0  # accepted tickets intake answers 200 for afterwards
    notifications_expected: int = 0
    stored: int = 0
    stored_twice: int = 0  # more than one document for one (event, recipient, channel)
    not_delivered: int = 0  # stored but not (yet) delivered
    webhooks_expected: int = 0
    webhooks_delivered: int = 0  # distinct webhook-ids the sink received
    webhook_repeats: int = 0  # requests beyond the first per webhook-id
    repeat_bound: int = 0
    resumed_after_s: float | None = None  # restart → next webhook received
    fresh_ticket_s: float | None = None  # a ticket posted at the restart → its webhook
    seconds: float = 0.0

    @property
    def tickets_missing(self) -> int:
        return self.accepted - self.readable

    @property
    def missing(self) -> int:
        """Tickets not readable, notifications not stored, webhooks never received."""
        stored_missing = self.notifications_expected - (self.stored - self.stored_twice)
        undelivered = self.webhooks_expected - self.webhooks_delivered
        return self.tickets_missing + stored_missing + undelivered

    @property
    def duplicated(self) -> int:
        return self.stored_twice + self.webhook_repeats

    def as_json(self) -> Document:
        return {**asdict(self), "missing": self.missing, "duplicated": self.duplicated}

    def summary(self) -> str:
        refused = ", ".join(f"{n} x {status}" for status, n in sorted(self.refused.items()))
        return (
            f"{self.fault}: tickets accepted {self.accepted} (refused {refused or 0}, "
            f"unanswered {self.unanswered}), readable {self.readable}; notifications stored "
            f"{self.stored}/{self.notifications_expected} (twice {self.stored_twice}), webhooks "
            f"delivered {self.webhooks_delivered}/{self.webhooks_expected}, repeats "
            f"{self.webhook_repeats} (bound {self.repeat_bound}); missing {self.missing}, "
            f"duplicated {self.duplicated}; resumed {_seconds(self.resumed_after_s)}, fresh "
            f"ticket {_seconds(self.fresh_ticket_s)}; {self.seconds:.0f} s"
        )


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


@dataclass
class TicketLoad:
    """Tickets posted open loop at a steady rate; every answer is kept."""

    client: httpx.AsyncClient
    keys: Keys
    customer_id: str
    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    unanswered: int = 0

    async def run(self, rate: float, seconds: float) -> None:
        start = time.monotonic()
        posts = [
            asyncio.create_task(self._post_at(start + i / rate)) for i in range(int(rate * seconds))
        ]
        await asyncio.gather(*posts)

    async def _post_at(self, moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        try:
            response = await self.post(str(uuid.uuid4()))
        except httpx.HTTPError:
            self.unanswered += 1
            return
        if response.status_code == 202:
            self.accepted.append(response.json()["ticket_id"])
        else:
            self.refused[str(response.status_code)] += 1

    async def post(self, idempotency_key: str) -> httpx.Response:
        body = {
            "customer_id": self.customer_id,
            "category": "number_porting",
            "summary": "Port request stuck",
            "call_ids": [f"call-{uuid.uuid4().hex[:12]}"],
            "reporting_system": "crm",
        }
        headers = {"X-API-Key": self.keys.system, "Idempotency-Key": idempotency_key}
        return await self.client.post("/v1/tickets", json=body, headers=headers)

    def refused_now(self, status: str) -> int:
        return self.refused[status]


Inject = Callable[["FaultRun"], Awaitable[None]]


@dataclass
class FaultRun:
    """Load, broadcast, fault, recovery and the counts, for one fault."""

    name: str
    client: httpx.AsyncClient
    keys: Keys
    database: Database
    sink: WebhookCounter
    repeat_bound: int
    rate: float = 20.0
    load_s: float = 16.0
    fault_at_s: float = 5.0
    customers: int = 300
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    load: TicketLoad = field(init=False)

    def __post_init__(self) -> None:
        self.load = TicketLoad(self.client, self.keys, f"faults-{self.tag}")

    @property
    def region(self) -> str:
        return f"faults-{self.tag}"

    async def run(self, inject: Inject) -> FaultCounts:
        started = time.monotonic()
        await self._seed_directory()
        loading = asyncio.create_task(self.load.run(self.rate, self.load_s))
        await asyncio.sleep(1.0)
        incident_id = await self._declare_outage()
        await asyncio.sleep(self.fault_at_s - 1.0)
        await inject(self)
        restarted = time.monotonic()
        probe = await self._fresh_ticket()
        await loading
        counts = FaultCounts(self.name, repeat_bound=self.repeat_bound)
        await self._settle(incident_id, [*self.load.accepted, probe])
        await self._count(counts, incident_id, probe)
        resumed = self.sink.first_arrival_after(restarted)
        heard = self.sink.ticket_heard_at(probe)
        counts.resumed_after_s = None if resumed is None else resumed - restarted
        counts.fresh_ticket_s = None if heard is None else heard - restarted
        counts.seconds = time.monotonic() - started
        return counts

    async def _seed_directory(self) -> None:
        contact = Contact(
            contact_id="ops",
            name="Operations",
            webhook=WebhookAddress(url=self.sink.url, secret="whsec_faults_0123456789abcdef"),
            in_app=True,
        )
        customer = Customer(customer_id=self.load.customer_id, name="Load", contacts=[contact])
        await self.database[Collections.CUSTOMERS].insert_one(customer_document(customer))
        await seed_region(self.database, self.region, self.customers, lambda _i, _c: self.sink.url)

    async def _declare_outage(self) -> str:
        body = {
            "title": f"Calls failing in {self.region}",
            "severity": "major",
            "scope": {"regions": [self.region]},
            "message": "Calls into the region fail; engineers are on it.",
        }
        headers = {"X-API-Key": self.keys.agent, "Idempotency-Key": str(uuid.uuid4())}
        response = await self.client.post("/v1/incidents", json=body, headers=headers)
        assert response.status_code == 202, response.text
        incident_id: str = response.json()["incident_id"]
        return incident_id

    async def _fresh_ticket(self) -> str:
        """A ticket posted as soon as the platform is back (retried, as a client would)."""
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 60
        while True:
            try:
                response = await self.load.post(key)
                if response.status_code == 202:
                    ticket_id: str = response.json()["ticket_id"]
                    return ticket_id
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "intake never accepted a ticket after the fault"
            await asyncio.sleep(0.2)

    async def _settle(self, incident_id: str, tickets: list[str]) -> None:
        """Wait until every expected notification is stored and none is left pending."""
        expected = self._expected(tickets)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            found = await self._notifications(incident_id)
            settled = {_expected_key(n) for n in found if n["status"] != "pending"}
            if expected <= settled:
                return
            await asyncio.sleep(0.5)

    def _expected(self, tickets: list[str]) -> set[tuple[str, str]]:
        """(ticket or broadcast customer, channel) of every notification the run must store."""
        customers = [f"bc-{self.region}-{i:06d}" for i in range(self.customers)]
        return {(who, channel) for who in [*tickets, *customers] for channel in TICKET_CHANNELS}

    async def _notifications(self, incident_id: str) -> list[Document]:
        query = {"$or": [{"customer_id": self.load.customer_id}, {"incident_id": incident_id}]}
        fields = ["event_id", "event_type", "ticket_id", "customer_id", "contact_id", "channel"]
        found: list[Document] = (
            await self.database[Collections.NOTIFICATIONS]
            .find(query, projection=[*fields, "status"])
            .to_list(None)
        )
        return found

    async def _count(self, counts: FaultCounts, incident_id: str, probe: str) -> None:
        load = self.load
        counts.accepted = len(load.accepted)
        counts.refused, counts.unanswered = dict(load.refused), load.unanswered
        tickets = [*load.accepted, probe]
        counts.readable = await self._readable(load.accepted)
        found = await self._notifications(incident_id)
        expected = self._expected(tickets)
        mine = [n for n in found if _expected_key(n) in expected]
        per_key = Counter(
            (n["event_id"], n["customer_id"], n["contact_id"], n["channel"]) for n in mine
        )
        counts.notifications_expected = len(expected)
        counts.stored = len(mine)
        counts.stored_twice = sum(n - 1 for n in per_key.values())
        counts.not_delivered = sum(1 for n in mine if n["status"] != "delivered")
        webhook_ids = {n["_id"] for n in mine if n["channel"] == "webhook"}
        received = self.sink.counts()
        counts.webhooks_expected = sum(1 for _, channel in expected if channel == "webhook")
        counts.webhooks_delivered = len(webhook_ids & set(received))
        counts.webhook_repeats = sum(n - 1 for n in received.values())

    async def _readable(self, tickets: list[str]) -> int:
        gate = asyncio.Semaphore(16)

        async def read(ticket_id: str) -> bool:
            async with gate:
                response = await self.client.get(
                    f"/v1/tickets/{ticket_id}", headers={"X-API-Key": self.keys.agent}
                )
                return response.status_code == 200

        return sum(await asyncio.gather(*(read(t) for t in tickets)))


def _expected_key(notification: Document) -> tuple[Any, Any]:
    """The (ticket or broadcast customer, channel) a notification of this run stands for."""
    if notification["event_type"] == "TicketOpened":
        return notification["ticket_id"], notification["channel"]
    if notification["event_type"] == "IncidentDeclared":
        return notification["customer_id"], notification["channel"]
    return None, None
