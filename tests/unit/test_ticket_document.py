"""The stored ticket document: state, timeline and the embedded outbox in one document."""

from typing import Any

from services.workflow.domain.tickets import open_ticket
from services.workflow.store import _document, pending_events, ticket_from_document
from tests.unit.examples import NOW, open_ticket_command, shipped_rules


def stored_document() -> dict[str, Any]:
    return _document(open_ticket(open_ticket_command(), NOW, shipped_rules()))


def test_a_new_ticket_document_holds_every_event_pending_in_order() -> None:
    decision = open_ticket(open_ticket_command(), NOW, shipped_rules())

    document = _document(decision)

    assert document["_id"] == decision.ticket.ticket_id
    assert [e["type"] for e in document["events"]] == ["TicketOpened", "TicketTriaged"]
    assert document["outbox_pending"] == [e.event_id for e in decision.events]
    assert pending_events(document) == document["events"]


def test_the_document_has_no_keys_mongodb_or_ferretdb_refuse() -> None:
    def keys(value: object) -> list[str]:
        if isinstance(value, dict):
            return [k for key, inner in value.items() for k in [key, *keys(inner)]]
        if isinstance(value, list):
            return [k for item in value for k in keys(item)]
        return []

    bad = [key for key in keys(stored_document()) if "." in key or key.startswith("$")]

    assert bad == []


def test_a_stored_ticket_document_reads_back_as_the_same_ticket() -> None:
    decision = open_ticket(open_ticket_command(), NOW, shipped_rules())

    assert ticket_from_document(_document(decision)) == decision.ticket


def test_only_the_events_still_pending_are_published_again() -> None:
    document = stored_document()
    _opened, triaged = document["events"]
    document["outbox_pending"] = [triaged["event_id"]]

    assert pending_events(document) == [triaged]


def test_a_document_with_nothing_pending_has_nothing_to_publish() -> None:
    document = {**stored_document(), "outbox_pending": []}

    assert pending_events(document) == []
