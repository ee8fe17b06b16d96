"""Keeping customers informed, on the real stack: each contact hears each step of a ticket in
their own language, on their own channels, as the real mail server, webhook receiver and SMS
gateway received it."""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.notifier.channels.email import NOTIFICATION_ID_HEADER
from services.notifier.domain.policy import message_for, shipped_templates
from services.notifier.domain.signature import SIGNATURE_HEADER, verify
from shared.customers import Language
from shared.events import Event, ticket_event_adapter
from shared.mongo import Collections, Document
from tests.e2e.desk import Desk
from tests.e2e.support import (
    Keys,
    Mailbox,
    ReceivedEmail,
    ServerSentEvent,
    SmsGateway,
    WebhookSink,
    server_sent_events,
    until,
)

pytestmark = pytest.mark.e2e

SECRET = "whsec_informed_0123456789"
LUC_PHONE = "+33612345678"
DeskFor = Callable[[str], Awaitable[Desk]]
Message = tuple[str, str]  # subject, body

STEPS = ["TicketOpened", "InvestigationStarted", "PublicUpdatePosted", "ConfirmationRequested"]
LIFECYCLE = {"InvestigationStarted"}  # what tom opted out of, among the steps of the story


async def new_customer(intake: httpx.AsyncClient, keys: Keys, *contacts: Document) -> str:
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    body = {"name": "Lumière Télécom SARL", "contacts": list(contacts)}
    response = await intake.put(
        f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": keys.agent}
    )
    assert response.status_code == 200, response.text
    return customer_id


def ana(**fields: Any) -> Document:
    return {"contact_id": "ana", "name": "Ana García", "language": "es", **fields}


def luc(**fields: Any) -> Document:
    return {"contact_id": "luc", "name": "Luc Moreau", "language": "fr", **fields}


def tom(**fields: Any) -> Document:
    return {"contact_id": "tom", "name": "Tom Hughes", "language": "en", **fields}


async def test_each_contact_hears_each_step_in_their_language_on_their_channels(
    intake: httpx.AsyncClient,
    keys: Keys,
    mailbox: Mailbox,
    sms_gateway: SmsGateway,
    webhook_sink: WebhookSink,
    desk_for: DeskFor,
) -> None:
    tag = uuid.uuid4().hex[:10]
    ana_at, tom_at = f"ana@{tag}.example", f"tom@{tag}.example"
    customer_id = await new_customer(
        intake,
        keys,
        ana(email=ana_at),
        luc(webhook={"url": webhook_sink.url, "secret": SECRET}, phone=LUC_PHONE),
        tom(email=tom_at, opt_out=["progress", "lifecycle"]),
    )
    desk = await desk_for(customer_id)

    ticket_id = await desk.report(customer_id, "call_quality", summary="Calls to Paris break up")
    assert (await desk.agent(ticket_id, "status", {"status": "investigating"})).status_code == 202
    await desk.ticket_reaches(ticket_id, "investigating")
    update = {"message": "We rerouted your calls"}
    assert (await desk.agent(ticket_id, "updates", update)).status_code == 202
    solved = {"status": "awaiting_confirmation", "reason": "Calls rerouted"}
    assert (await desk.agent(ticket_id, "status", solved)).status_code == 202
    await desk.ticket_reaches(ticket_id, "awaiting_confirmation")

    sent = await until(
        lambda: _settled_outside_the_app(desk, customer_id, expected=4 + 4 + 3),
        "every email and webhook settled",
    )
    assert [n["status"] for n in sent] == ["delivered"] * len(sent), sent
    events = await visible_events(desk, ticket_id)
    assert list(events) == STEPS
    to_ana, to_tom = mailbox.to(ana_at), mailbox.to(tom_at)
    hooks = webhook_sink.for_ticket(ticket_id)

    assert sorted((e.subject, e.body) for e in to_ana) == told(events, STEPS, Language.ES)
    assert f"Hemos recibido su ticket {ticket_id}" in {e.subject for e in to_ana}
    assert {e.header("Content-Language") for e in to_ana} == {"es"}
    assert sorted((h.json()["subject"], h.json()["message"]) for h in hooks) == told(
        events, STEPS, Language.FR
    )
    assert all(verify(SECRET, h.headers[SIGNATURE_HEADER], h.body, int(time.time())) for h in hooks)
    # Not base64 after its prefix, so the secret is used as its bytes, by the library too.
    assert all(Webhook(SECRET.encode()).verify(h.body, h.headers) == h.json() for h in hooks)
    tom_steps = [step for step in STEPS if step not in LIFECYCLE]
    assert sorted((e.subject, e.body) for e in to_tom) == told(events, tom_steps, Language.EN)
    assert all(e.recipients == [ana_at] for e in to_ana)
    assert all(e.recipients == [tom_at] for e in to_tom)
    assert sms_gateway.texts_to(LUC_PHONE) == []  # SMS is for outages
    assert "sms" not in {n["channel"] for n in sent}

    received_ids = [e.header(NOTIFICATION_ID_HEADER) for e in to_ana + to_tom]
    received_ids += [h.json()["notification_id"] for h in hooks]
    assert len(received_ids) == len(set(received_ids)), "a message was received twice"
    assert set(received_ids) == {n["notification_id"] for n in sent}
    on_timeline = await until(
        lambda: _delivered_on_timeline(desk, ticket_id, set(received_ids)),
        "deliveries on the ticket's timeline",
    )
    assert {entry["channel"] for entry in on_timeline} >= {"email", "webhook"}


async def test_the_account_follows_its_in_app_feed_live_in_its_language(
    intake: httpx.AsyncClient, keys: Keys, desk_for: DeskFor
) -> None:
    """The in-app feed speaks the language of the first contact who follows it: luc's."""
    tag = uuid.uuid4().hex[:10]
    customer_id = await new_customer(
        intake, keys, tom(email=f"tom@{tag}.example", in_app=False), luc(), ana()
    )
    desk = await desk_for(customer_id)
    feed = f"/v1/customers/{customer_id}/notifications/stream"

    async with intake.stream("GET", feed, headers={"X-API-Key": desk.customer_key}) as stream:
        assert stream.status_code == 200
        ticket_id = await desk.report(customer_id, "call_quality", summary="Calls to Lyon drop")
        opened = await first_event(stream, "TicketOpened", within_s=15)

    notification = json.loads(opened.data)
    assert notification["ticket_id"] == ticket_id
    assert notification["channel"] == "in_app"
    events = await visible_events(desk, ticket_id)
    assert told(events, ["TicketOpened"], Language.FR) == [
        (notification["subject"], notification["body"])
    ]
    assert notification["subject"] == f"Nous avons bien reçu votre ticket {ticket_id}"


async def test_a_contact_who_switches_to_french_hears_the_next_step_in_french(
    intake: httpx.AsyncClient, keys: Keys, mailbox: Mailbox, desk_for: DeskFor
) -> None:
    ana_at = f"ana@{uuid.uuid4().hex[:10]}.example"
    customer_id = await new_customer(intake, keys, ana(email=ana_at))
    desk = await desk_for(customer_id)
    ticket_id = await desk.report(customer_id, "call_quality", summary="Calls to Madrid echo")
    [opened] = await until(lambda: _emails(mailbox, ana_at, 1), "ana told in Spanish")

    changed = await intake.patch(
        f"/v1/customers/{customer_id}/contacts/ana/preferences",
        json={"language": "fr"},
        headers={"X-API-Key": desk.customer_key},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "fr"
    update = {"message": "We rerouted your calls"}
    assert (await desk.agent(ticket_id, "updates", update)).status_code == 202
    _, updated = await until(lambda: _emails(mailbox, ana_at, 2), "ana told in French")

    events = await visible_events(desk, ticket_id)
    assert told(events, ["TicketOpened"], Language.ES) == [(opened.subject, opened.body)]
    assert told(events, ["PublicUpdatePosted"], Language.FR) == [(updated.subject, updated.body)]
    assert (opened.header("Content-Language"), updated.header("Content-Language")) == ("es", "fr")
    assert "We rerouted your calls" in updated.body


async def visible_events(desk: Desk, ticket_id: str) -> dict[str, Event]:
    """The ticket's customer-visible events by type, in the order they happened."""
    document = await desk.database[Collections.TICKETS].find_one({"_id": ticket_id})
    events = [ticket_event_adapter.validate_python(e) for e in (document or {}).get("events", [])]
    return {type(e).__name__: e for e in events if e.customer_visible}


def told(events: dict[str, Event], steps: list[str], language: Language) -> list[Message]:
    """What the customer is told about `steps`, in `language` (its own template, no fallback)."""
    messages = []
    for step in steps:
        event = events[step]
        assert language in shipped_templates().languages_for(type(event)), (step, language)
        message = message_for(event, language)
        assert message is not None
        messages.append((message.subject, message.body))
    return sorted(messages)


async def first_event(stream: httpx.Response, name: str, within_s: float) -> ServerSentEvent:
    try:
        async with asyncio.timeout(within_s), aclosing(server_sent_events(stream)) as events:
            async for event in events:
                if event.event == name:
                    return event
    except TimeoutError:
        pass
    raise AssertionError(f"no {name} event on the stream within {within_s:.0f}s")


async def _settled_outside_the_app(
    desk: Desk, customer_id: str, expected: int
) -> list[Document] | None:
    """The customer's email, webhook and SMS notifications once `expected` are no longer pending."""
    response = await desk.intake.get(
        f"/v1/customers/{customer_id}/notifications", headers={"X-API-Key": desk.customer_key}
    )
    assert response.status_code == 200, response.text
    sent = [n for n in response.json() if n["channel"] != "in_app"]
    settled = len(sent) >= expected and all(n["status"] != "pending" for n in sent)
    return sent if settled else None


async def _delivered_on_timeline(
    desk: Desk, ticket_id: str, notification_ids: set[str]
) -> list[Document] | None:
    response = await desk.intake.get(
        f"/v1/tickets/{ticket_id}/timeline", headers={"X-API-Key": desk.keys.agent}
    )
    assert response.status_code == 200, response.text
    delivered = [
        item
        for item in response.json()
        if item.get("kind") == "delivery"
        and item["type"] == "NotificationDelivered"
        and item["notification_id"] in notification_ids
    ]
    found = {item["notification_id"] for item in delivered}
    return delivered if found == notification_ids else None


async def _emails(mailbox: Mailbox, address: str, count: int) -> list[ReceivedEmail] | None:
    received = mailbox.to(address)
    return received if len(received) >= count else None
