"""The stored ticket document: state, timeline and the embedded outbox in one document."""

from typing import Any, cast

import bson
import pytest
from bson.codec_options import CodecOptions

from services.workflow.domain.lifecycle import next_timer
from services.workflow.domain.tickets import Decision, open_ticket
from services.workflow.store import TicketStore, pending_events, ticket_from_document
from shared.mongo import Collection, Document
from shared.vocabulary import TicketStatus
from tests.unit.examples import NOW, RESTING_STATUSES, open_ticket_command, shipped_rules, ticket_at


class InsertedDocuments:
    """Stands in for the tickets collection when a new ticket is saved: keeps what was inserted."""

    def __init__(self) -> None:
        self.inserted: list[Document] = []

    async def insert_many(self, documents: list[Document], ordered: bool) -> None:
        self.inserted.extend(documents)


def opening() -> Decision:
    return open_ticket(open_ticket_command(), NOW, shipped_rules())


async def stored(decision: Decision) -> Document:
    """The document the real store inserts for a new ticket."""
    collection = InsertedDocuments()
    document = await TicketStore(cast(Collection, collection)).save(decision, loaded_version=None)
    assert collection.inserted == [document]
    return document


def through_bson(document: Document) -> Document:
    """What the store hands back for the document."""
    return bson.decode(bson.encode(document), codec_options=CodecOptions(tz_aware=True))


async def test_a_new_ticket_document_holds_every_event_pending_in_order() -> None:
    decision = opening()

    document = await stored(decision)

    assert document["_id"] == decision.ticket.ticket_id
    assert [e["type"] for e in document["events"]] == ["TicketOpened", "TicketTriaged"]
    assert document["outbox_pending"] == [e.event_id for e in decision.events]
    assert pending_events(document) == document["events"]


async def test_the_document_says_when_its_clocks_next_fire() -> None:
    decision = opening()

    document = await stored(decision)

    assert document["next_timer_at"] == next_timer(decision.ticket)
    assert document["next_timer_at"] == decision.ticket.clocks.first_response_due


@pytest.mark.parametrize("status", RESTING_STATUSES, ids=str)
async def test_the_document_has_no_keys_a_mongodb_store_refuses(status: TicketStatus) -> None:
    def keys(value: object) -> list[str]:
        if isinstance(value, dict):
            return [k for key, inner in value.items() for k in [key, *keys(inner)]]
        if isinstance(value, list):
            return [k for item in value for k in keys(item)]
        return []

    document = await stored(Decision(ticket_at(status), ()))

    assert [key for key in keys(document) if "." in key or key.startswith("$")] == []


@pytest.mark.parametrize("status", RESTING_STATUSES, ids=str)
async def test_a_stored_ticket_reads_back_as_the_same_ticket(status: TicketStatus) -> None:
    ticket = ticket_at(status)

    document = through_bson(await stored(Decision(ticket, ())))

    assert ticket_from_document(document) == ticket


async def test_only_the_events_still_pending_are_published_again() -> None:
    document = await stored(opening())
    _opened, triaged = document["events"]
    document["outbox_pending"] = [triaged["event_id"]]

    assert pending_events(document) == [triaged]


async def test_a_document_with_nothing_pending_has_nothing_to_publish() -> None:
    document: dict[str, Any] = {**(await stored(opening())), "outbox_pending": []}

    assert pending_events(document) == []
