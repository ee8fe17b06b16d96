"""Outages on the real stack: every affected customer is told, on each of their channels and in
their language, when an outage is declared, updated and resolved, even when the notifier is
killed in the middle of the broadcast; their tickets link to it and resolve with it."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from infra.services import Platform
from services.notifier.channels.email import NOTIFICATION_ID_HEADER
from shared.mongo import Collections, Database, Document
from shared.topics import INCIDENT_EVENTS
from tests.e2e.conftest import BROADCAST_UNRECORDED_MAX
from tests.e2e.desk import Desk
from tests.e2e.support import (
    Endpoints,
    Keys,
    Mailbox,
    SmsGateway,
    WebhookSink,
    records_with_key,
    until,
)

pytestmark = pytest.mark.e2e

DeskFor = Callable[[str], Awaitable[Desk]]
AFFECTED = 500
BYSTANDERS = 20
LANGUAGES = ("es", "en", "fr")
SECRET = "whsec_outage_0123456789abcdef"
PHASES = ("IncidentDeclared", "IncidentUpdated", "IncidentResolved")
# At most this many broadcast deliveries are under way or done but unrecorded when the notifier
# dies: only those can reach a receiver twice.
IN_FLIGHT = BROADCAST_UNRECORDED_MAX


@dataclass(frozen=True)
class Affected:
    """One customer of the outage's region and the channels it accepts."""

    customer_id: str
    language: str
    channels: frozenset[str]
    email: str | None
    phone: str | None


def contact_for(index: int, tag: str, webhook_url: str) -> tuple[Document, Affected]:
    """Four profiles in turn, three languages in turn: every mix of channel and language."""
    customer_id = f"out-{tag}-{index:04d}"
    language = LANGUAGES[index % len(LANGUAGES)]
    email = f"noc-{index}@{tag}.example"
    phone = f"+3460{index:07d}"
    webhook = {"url": webhook_url, "secret": SECRET}
    profiles: list[Document] = [
        {"email": email},
        {"webhook": webhook},
        {"phone": phone},
        # No in-app, and opted out of all it may: outage messages go out anyway.
        {
            "email": email,
            "webhook": webhook,
            "phone": phone,
            "in_app": False,
            "opt_out": ["lifecycle", "update", "progress", "acknowledgement"],
        },
    ]
    fields = profiles[index % len(profiles)]
    contact = {"contact_id": "noc", "name": f"NOC {index}", "language": language, **fields}
    channels = {"in_app"} if fields.get("in_app", True) else set()
    channels |= {
        name
        for name, key in (("email", "email"), ("webhook", "webhook"), ("sms", "phone"))
        if key in fields
    }
    profile = Affected(
        customer_id,
        language,
        frozenset(channels),
        email if "email" in fields else None,
        phone if "phone" in fields else None,
    )
    return contact, profile


async def enrol(
    intake: httpx.AsyncClient, keys: Keys, customer_id: str, contact: Document, region: str
) -> None:
    body = {
        "name": f"Customer {customer_id}",
        "contacts": [contact],
        "services": {"regions": [region]},
    }
    response = await intake.put(
        f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": keys.agent}
    )
    assert response.status_code == 200, response.text


async def enrol_all(
    intake: httpx.AsyncClient, keys: Keys, entries: list[tuple[str, Document, str]]
) -> None:
    gate = asyncio.Semaphore(16)

    async def one(customer_id: str, contact: Document, region: str) -> None:
        async with gate:
            await enrol(intake, keys, customer_id, contact, region)

    await asyncio.gather(*(one(*entry) for entry in entries))


async def operator(intake: httpx.AsyncClient, keys: Keys, path: str, body: Document) -> Document:
    headers = {"X-API-Key": keys.agent, "Idempotency-Key": str(uuid.uuid4())}
    response = await intake.post(path, json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted: Document = response.json()
    return accepted


async def broadcast_settled(
    database: Database, incident_id: str, event_type: str, expected: int
) -> list[Document] | None:
    """The notifications of one incident event, once all `expected` are stored and settled."""
    found = (
        await database[Collections.NOTIFICATIONS]
        .find({"incident_id": incident_id, "event_type": event_type})
        .to_list(None)
    )
    settled = len(found) >= expected and all(n["status"] != "pending" for n in found)
    return found if settled else None


async def stored_count(database: Database, incident_id: str, event_type: str) -> int:
    return await database[Collections.NOTIFICATIONS].count_documents(
        {"incident_id": incident_id, "event_type": event_type}
    )


def expected_notifications(customers: list[Affected]) -> int:
    return sum(len(customer.channels) for customer in customers)


async def test_every_affected_customer_hears_each_phase_once_even_if_the_notifier_dies(
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    mailbox: Mailbox,
    sms_gateway: SmsGateway,
    webhook_sink: WebhookSink,
    desk_for: DeskFor,
) -> None:
    tag = uuid.uuid4().hex[:8]
    region, elsewhere = f"eu-{tag}", f"us-{tag}"
    enrolled = [contact_for(i, tag, webhook_sink.url) for i in range(AFFECTED)]
    affected = [profile for _, profile in enrolled]
    bystanders = [f"by-{tag}-{i:03d}" for i in range(BYSTANDERS)]
    await enrol_all(
        intake,
        keys,
        [(p.customer_id, contact, region) for contact, p in enrolled]
        + [
            (b, {"contact_id": "noc", "name": "NOC", "email": f"{b}@{tag}.example"}, elsewhere)
            for b in bystanders
        ],
    )
    reporters = [affected[i] for i in (0, 1, 2)]
    desks = {p.customer_id: await desk_for(p.customer_id) for p in reporters}
    on_region = {"affected": {"region": region}}
    # Two, not three: three outage tickets in one region would declare an incident by themselves.
    before = [
        await desks[p.customer_id].report(p.customer_id, "service_outage", **on_region)
        for p in reporters[:2]
    ]
    bystander_desk = await desk_for(bystanders[0])
    outside = await bystander_desk.report(
        bystanders[0], "service_outage", affected={"region": elsewhere}
    )

    declared = await operator(
        intake,
        keys,
        "/v1/incidents",
        {
            "title": f"Calls failing in {region}",
            "severity": "critical",
            "scope": {"regions": [region]},
            "message": "Calls into the region fail; engineers are rerouting traffic.",
        },
    )
    incident_id = declared["incident_id"]
    per_phase = expected_notifications(affected)

    # Kill the notifier once part of the declaration is stored, then bring it back.
    await until(
        lambda: _at_least(database, incident_id, "IncidentDeclared", per_phase // 5),
        "the declaration broadcast under way",
        within_s=60,
    )
    notifier = platform.services["notifier"]
    notifier.kill()
    assert await stored_count(database, incident_id, "IncidentDeclared") < per_phase, (
        "the broadcast finished before the notifier was killed; the test proves nothing"
    )
    platform.start(["notifier"])
    await until(
        lambda: broadcast_settled(database, incident_id, "IncidentDeclared", per_phase),
        "every declaration stored and delivered after the restart",
        within_s=180,
    )

    later = await desks[reporters[2].customer_id].report(
        reporters[2].customer_id, "service_outage", **on_region
    )
    await operator(
        intake,
        keys,
        f"/v1/incidents/{incident_id}/updates",
        {"message": "Traffic rerouted over a second carrier; calls recovering."},
    )
    await until(
        lambda: broadcast_settled(database, incident_id, "IncidentUpdated", per_phase),
        "every update delivered",
        within_s=180,
    )
    await operator(
        intake,
        keys,
        f"/v1/incidents/{incident_id}/resolve",
        {"message": "All calls into the region complete normally again."},
    )
    await until(
        lambda: broadcast_settled(database, incident_id, "IncidentResolved", per_phase),
        "every resolution delivered",
        within_s=180,
    )

    stored = (
        await database[Collections.NOTIFICATIONS].find({"incident_id": incident_id}).to_list(None)
    )
    _each_customer_told_each_phase_once_per_channel(stored, affected)
    assert {n["customer_id"] for n in stored}.isdisjoint(bystanders)
    assert all(n["status"] == "delivered" for n in stored), Counter(n["status"] for n in stored)
    _receivers_got_every_message(stored, mailbox, sms_gateway, webhook_sink)

    for ticket_id in [*before, later]:
        document = await desks[reporters[0].customer_id].ticket_reaches(
            ticket_id, "awaiting_confirmation"
        )
        assert document["incident_id"] == incident_id
        assert document["priority"] == "p1"
        types = [e["type"] for e in document["events"]]
        assert "TicketLinkedToIncident" in types, types
        assert types[-1] == "ResolvedWithIncident", types
    untouched = await database[Collections.TICKETS].find_one({"_id": outside})
    assert untouched is not None
    assert untouched.get("incident_id") is None

    incident = await intake.get(f"/v1/incidents/{incident_id}", headers={"X-API-Key": keys.agent})
    assert incident.status_code == 200, incident.text
    view = incident.json()
    assert view["status"] == "resolved"
    assert view["linked_tickets"] == 3
    totals = view["counts"]["total"]
    assert totals["notified"] == totals["delivered"] == 3 * per_phase, totals
    assert totals["failed"] == 0
    assert totals["pending"] == 0
    assert {b["affected"] for b in view["counts"]["broadcasts"]} == {AFFECTED}


def _each_customer_told_each_phase_once_per_channel(
    stored: list[Document], affected: list[Affected]
) -> None:
    told = Counter((n["customer_id"], n["channel"], n["event_type"]) for n in stored)
    wanted = Counter(
        (customer.customer_id, channel, phase)
        for customer in affected
        for channel in customer.channels
        for phase in PHASES
    )
    assert told == wanted
    languages = {customer.customer_id: customer.language for customer in affected}
    assert all(n["language"] == languages[n["customer_id"]] for n in stored)
    subjects = {(n["event_type"], n["language"]): n["subject"] for n in stored}
    for phase in PHASES:
        assert len({subjects[(phase, language)] for language in LANGUAGES}) == len(LANGUAGES)


def _receivers_got_every_message(
    stored: list[Document], mailbox: Mailbox, sms_gateway: SmsGateway, webhook_sink: WebhookSink
) -> None:
    """Each notification reached its receiver; any repeat is an in-flight delivery the crash
    interrupted, carrying the same id for the receiver to deduplicate on."""
    by_channel: dict[str, set[str]] = {}
    for notification in stored:
        by_channel.setdefault(notification["channel"], set()).add(notification["_id"])
    received = {
        "email": [e.header(NOTIFICATION_ID_HEADER) for e in list(mailbox.received)],
        "sms": [_header(r.headers, "Idempotency-Key") for r in list(sms_gateway.received)],
        "webhook": [r.json()["notification_id"] for r in list(webhook_sink.received)],
    }
    repeats = Counter[str]()
    for channel, ids in received.items():
        ours = [i for i in ids if i in by_channel[channel]]
        assert set(ours) == by_channel[channel], channel
        repeats[channel] = len(ours) - len(set(ours))
    assert repeats.total() <= IN_FLIGHT, f"messages received twice: {repeats}"
    subjects = {n["_id"]: n["subject"] for n in stored}
    for hook in list(webhook_sink.received):
        payload: Any = hook.json()
        if payload["notification_id"] in subjects:
            assert payload["subject"] == subjects[payload["notification_id"]]


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


async def _at_least(database: Database, incident_id: str, event_type: str, count: int) -> bool:
    return await stored_count(database, incident_id, event_type) >= count


async def test_a_burst_of_similar_tickets_opens_an_incident_and_links_them(
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    endpoints: Endpoints,
    desk_for: DeskFor,
) -> None:
    """The e2e rules declare an incident at three service_outage tickets in one region within
    five minutes; tickets elsewhere or of another kind stay out of it."""
    tag = uuid.uuid4().hex[:8]
    region, elsewhere = f"ap-{tag}", f"sa-{tag}"
    customers = [f"burst-{tag}-{i}" for i in range(5)]
    await enrol_all(
        intake,
        keys,
        [
            (c, {"contact_id": "noc", "name": "NOC", "email": f"{c}@{tag}.example"}, "unrelated")
            for c in customers
        ],
    )
    desks = [await desk_for(c) for c in customers]
    other_region = await desks[3].report(
        customers[3], "service_outage", affected={"region": elsewhere}
    )
    other_kind = await desks[4].report(customers[4], "number_porting", affected={"region": region})
    burst = [
        await desk.report(customer, "service_outage", affected={"region": region})
        for desk, customer in zip(desks[:3], customers[:3], strict=True)
    ]

    async def linked() -> list[Document] | None:
        found = await database[Collections.TICKETS].find({"_id": {"$in": burst}}).to_list(None)
        done = len(found) == 3 and all(
            t.get("incident_id") and not t["outbox_pending"] for t in found
        )
        return found if done else None

    tickets = await until(linked, "the burst's tickets linked to an incident", within_s=60)
    [incident_id] = {t["incident_id"] for t in tickets}
    assert {t["priority"] for t in tickets} == {"p1"}
    for ticket_id in (other_region, other_kind):
        document = await database[Collections.TICKETS].find_one({"_id": ticket_id})
        assert document is not None
        assert document.get("incident_id") is None

    incident = await intake.get(f"/v1/incidents/{incident_id}", headers={"X-API-Key": keys.agent})
    assert incident.status_code == 200, incident.text
    view = incident.json()
    assert view["detected"] is True
    assert view["status"] == "open"
    assert view["scope"]["regions"] == [region]
    alerts = await records_with_key(endpoints.kafka_bootstrap, INCIDENT_EVENTS, incident_id)
    assert [dict(r.headers).get("event-type") for r in alerts] == [b"IncidentDeclared"]
