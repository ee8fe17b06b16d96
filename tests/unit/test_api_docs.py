"""The committed API documents describe the code as it is."""

from pathlib import Path
from typing import Any, get_args

import pytest

from docs.generate import asyncapi, documents, openapi, render
from shared.deliveries import NotificationEvent
from shared.events import DevelopmentEvent, TicketCommand, TicketEvent
from shared.incidents import AnyIncidentCommand, AnyIncidentEvent, BroadcastChunk
from shared.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    DEVELOPMENT_EVENTS,
    INCIDENT_BROADCASTS,
    INCIDENT_COMMANDS,
    INCIDENT_EVENTS,
    NOTIFICATION_EVENTS,
    TICKET_COMMANDS,
    TICKET_EVENTS,
)

Document = dict[str, Any]


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return documents()


@pytest.fixture(scope="module")
def open_api() -> Document:
    return openapi()


@pytest.fixture(scope="module")
def async_api() -> Document:
    return asyncapi()


def resolve(document: Document, ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected, got {ref}"
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        assert isinstance(node, dict), f"{ref} points into a non-object"
        assert part in node, f"{ref} points nowhere"
        node = node[part]
    return node


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in references(item)]
    return []


def contract_names(contract: object) -> set[str]:
    """`OpenTicket` -> {"OpenTicket"}; `Annotated[A | B, ...]` -> {"A", "B"}."""
    if isinstance(contract, type):
        return {contract.__name__}
    return {member.__name__ for member in get_args(get_args(contract)[0])}


def payload_names(document: Document, channel: Document) -> set[str]:
    names: set[str] = set()
    for message_ref in channel["messages"].values():
        payload = resolve(document, resolve(document, message_ref["$ref"])["payload"]["$ref"])
        members = [resolve(document, m["$ref"]) for m in payload.get("oneOf", [])] or [payload]
        names |= {member["title"] for member in members}
    return names


def channels_for(document: Document, address: str) -> list[Document]:
    """The channels on one topic: one per publisher or subscriber that names it its own way."""
    matching: list[Document] = [c for c in document["channels"].values() if c["address"] == address]
    assert matching, f"no channel for topic {address}"
    return matching


def test_committed_documents_match_the_code(generated: dict[Path, str]) -> None:
    for path, text in generated.items():
        committed = path.read_text() if path.exists() else ""
        assert committed == text, f"{path.name} is out of date: run python -m docs.generate"


def test_documents_do_not_depend_on_the_environment(
    generated: dict[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_KAFKA_BOOTSTRAP", "elsewhere:19092")
    monkeypatch.setenv("SWITCHBOARD_INTAKE_PORT", "18000")
    assert documents() == generated


def test_declaring_an_incident_documents_every_outcome(open_api: Document) -> None:
    operation = open_api["paths"]["/v1/incidents"]["post"]

    assert {"202", "401", "403", "409", "422", "503"} <= set(operation["responses"])
    (key,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True


def test_opening_a_ticket_documents_every_outcome(open_api: Document) -> None:
    operation = open_api["paths"]["/v1/tickets"]["post"]

    assert {"202", "401", "409", "422", "503"} <= set(operation["responses"])
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers


@pytest.mark.parametrize("document_name", ["openapi", "asyncapi"])
def test_every_reference_resolves(
    document_name: str, open_api: Document, async_api: Document
) -> None:
    document = open_api if document_name == "openapi" else async_api
    for ref in references(document):
        resolve(document, ref)


def test_asyncapi_has_a_channel_per_topic_in_use(async_api: Document) -> None:
    addresses = {channel["address"] for channel in async_api["channels"].values()}

    assert {TICKET_COMMANDS.name, TICKET_EVENTS.name} <= addresses
    assert addresses <= {topic.name for topic in ALL_TOPICS}, "a channel names an unknown topic"


@pytest.mark.parametrize(
    ("address", "contract"),
    [
        (TICKET_COMMANDS.name, TicketCommand),
        (TICKET_EVENTS.name, TicketEvent),
        (DEVELOPMENT_EVENTS.name, DevelopmentEvent),
        (NOTIFICATION_EVENTS.name, NotificationEvent),
        (INCIDENT_COMMANDS.name, AnyIncidentCommand),
        (INCIDENT_EVENTS.name, AnyIncidentEvent),
        (INCIDENT_BROADCASTS.name, BroadcastChunk),
    ],
)
def test_channels_carry_the_contract_schemas(
    async_api: Document, address: str, contract: object
) -> None:
    carried = set[str]().union(
        *(payload_names(async_api, channel) for channel in channels_for(async_api, address))
    )
    assert carried == contract_names(contract)


def test_asyncapi_shows_who_publishes_and_who_consumes(async_api: Document) -> None:
    performed = {
        (
            name.split(":")[0],
            operation["action"],
            resolve(async_api, operation["channel"]["$ref"])["address"],
        )
        for name, operation in async_api["operations"].items()
    }
    assert performed == {
        ("intake", "send", TICKET_COMMANDS.name),
        ("intake", "send", INCIDENT_COMMANDS.name),
        ("workflow", "receive", TICKET_COMMANDS.name),
        ("workflow", "send", TICKET_COMMANDS.name),  # timers; links to and resolutions by outages
        ("workflow", "receive", INCIDENT_COMMANDS.name),
        ("workflow", "send", INCIDENT_COMMANDS.name),  # outages detected in a burst of tickets
        ("workflow", "send", INCIDENT_EVENTS.name),
        ("workflow", "send", TICKET_EVENTS.name),
        ("workflow", "send", DEVELOPMENT_EVENTS.name),
        ("notifier", "receive", TICKET_EVENTS.name),
        ("notifier", "receive", INCIDENT_EVENTS.name),
        ("notifier", "send", INCIDENT_BROADCASTS.name),  # an outage's audience, in chunks
        ("notifier", "receive", INCIDENT_BROADCASTS.name),
        ("notifier", "send", NOTIFICATION_EVENTS.name),
        ("workflow", "receive", NOTIFICATION_EVENTS.name),
        ("workflow", "send", DEAD_LETTER.name),
        ("notifier", "send", DEAD_LETTER.name),
    }


def test_documents_are_sorted_json_with_a_final_newline() -> None:
    assert render({"b": 1, "a": [1]}) == '{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'
