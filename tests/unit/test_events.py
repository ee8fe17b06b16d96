"""The Kafka contract: commands and events survive JSON, and bad messages are refused."""

import json
import re
from typing import Any, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.events import (
    WORKFLOW,
    Event,
    OpenTicket,
    TicketCommand,
    TicketDetails,
    TicketEvent,
    TicketOpened,
    TicketTriaged,
    ticket_command_adapter,
    ticket_event_adapter,
)
from shared.vocabulary import (
    CallId,
    CustomerId,
    Priority,
    Team,
    TicketId,
    notification_id,
    ticket_id_for_request,
)
from tests.unit.examples import CRM, NOW, details, open_ticket_command

TICKET_ID = "TCK-0123456789ABCDEF"


def ticket_opened() -> TicketOpened:
    return TicketOpened(
        event_id="e-1",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=CRM,
        details=details(),
    )


def ticket_triaged() -> TicketTriaged:
    return TicketTriaged(
        event_id="e-2",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=WORKFLOW,
        team=Team.LEVEL_2,
        priority=Priority.P2,
        tier="level_2",
        reason="category call_quality",
    )


def as_json(message: OpenTicket | Event) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(message.model_dump_json())
    return loaded


def test_an_open_ticket_command_round_trips_through_json() -> None:
    command = open_ticket_command()

    parsed = ticket_command_adapter.validate_json(command.model_dump_json())

    assert parsed == command
    assert parsed.issued_at == NOW


@pytest.mark.parametrize("event", [ticket_opened(), ticket_triaged()], ids=lambda e: e.type)
def test_an_event_round_trips_through_json_as_its_own_type(event: Event) -> None:
    parsed = ticket_event_adapter.validate_json(event.model_dump_json())

    assert parsed == event
    assert type(parsed) is type(event)


def member_names(union: object) -> list[str]:
    return [member.__name__ for member in get_args(get_args(union)[0])]


@pytest.mark.parametrize("name", member_names(TicketEvent))
def test_an_event_is_named_in_the_past_tense(name: str) -> None:
    words = re.findall(r"[A-Z][a-z]*", name)
    # The verb ends the name, or comes before what it links to: TicketLinkedToIncident.
    prepositions = [i for i, word in enumerate(words) if word in {"To", "With"}]
    verb = words[prepositions[0] - 1] if prepositions else words[-1]

    assert verb.endswith("ed") or verb in {"Sent"}, f"{name} is not a fact"


@pytest.mark.parametrize("name", member_names(TicketCommand))
def test_a_command_is_named_in_the_imperative(name: str) -> None:
    first_word = re.findall(r"[A-Z][a-z]*", name)[0]

    assert not first_word.endswith("ed"), f"{name} is not a request"


def test_the_type_field_selects_the_event_model() -> None:
    payload = as_json(ticket_triaged())

    parsed = ticket_event_adapter.validate_python(payload)

    assert isinstance(parsed, TicketTriaged)
    assert parsed.team is Team.LEVEL_2


def test_an_event_of_unknown_type_is_refused() -> None:
    payload = {**as_json(ticket_triaged()), "type": "TicketVanished"}

    with pytest.raises(ValidationError, match="TicketVanished"):
        ticket_event_adapter.validate_python(payload)


def test_a_command_of_another_type_is_refused() -> None:
    payload = {**as_json(open_ticket_command()), "type": "CloseTicket"}

    with pytest.raises(ValidationError) as refused:
        ticket_command_adapter.validate_python(payload)

    (error,) = refused.value.errors()
    assert error["type"] == "union_tag_invalid"
    assert "'CloseTicket' found using 'type'" in error["msg"]


@pytest.mark.parametrize(
    ("message", "where"),
    [
        (as_json(open_ticket_command()), ()),
        (as_json(open_ticket_command()), ("details",)),
        (as_json(ticket_opened()), ()),
        (as_json(ticket_opened()), ("details",)),
        (as_json(ticket_triaged()), ("actor",)),
    ],
    ids=["command", "command-details", "event", "event-details", "event-actor"],
)
def test_an_unexpected_field_is_refused(message: dict[str, Any], where: tuple[str, ...]) -> None:
    target = message
    for key in where:
        target = target[key]
    target["priority_override"] = "p0"
    adapter: TypeAdapter[Any] = (
        ticket_command_adapter if message["type"] == "OpenTicket" else ticket_event_adapter
    )

    with pytest.raises(ValidationError) as refused:
        adapter.validate_python(message)

    (error,) = refused.value.errors()
    assert error["type"] == "extra_forbidden"
    assert error["loc"][-1] == "priority_override"


def test_a_naive_timestamp_is_refused() -> None:
    payload = {**as_json(ticket_opened()), "occurred_at": "2026-11-25T09:30:00"}

    with pytest.raises(ValidationError, match="occurred_at"):
        ticket_event_adapter.validate_python(payload)


def test_messages_are_frozen() -> None:
    command = open_ticket_command()

    with pytest.raises(ValidationError):
        command.ticket_id = "TCK-ZZZZZZZZZZZZZZZZ"  # type: ignore[misc]


def test_repeated_call_ids_are_kept_once_in_the_order_first_given() -> None:
    reported = details(call_ids=("c-3", "c-1", "c-3", "c-2", "c-1"))

    assert reported.call_ids == ["c-3", "c-1", "c-2"]


@pytest.mark.parametrize(
    ("id_type", "value"),
    [
        (TicketId, "TCK-0123"),
        (TicketId, "tck-0123456789ABCDEF"),
        (TicketId, "TCK-0123456789abcdef"),
        (TicketId, "TCK-0123456789ABCDEF "),
        (TicketId, {"$ne": None}),
        (CustomerId, ""),
        (CustomerId, "-acme"),
        (CustomerId, "acme telecom"),
        (CustomerId, "$where"),
        (CustomerId, "a" * 65),
        (CallId, ""),
        (CallId, "call id"),
        (CallId, "$ne"),
        (CallId, "c" * 129),
    ],
)
def test_a_malformed_id_is_refused(id_type: Any, value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(id_type).validate_python(value)


@pytest.mark.parametrize(
    ("id_type", "value"),
    [
        (TicketId, "TCK-0123456789ABCDEF"),
        (CustomerId, "acme-telecom"),
        (CustomerId, "tenant:acme_1.eu"),
        (CallId, "c-20261125-0001"),
        (CallId, "sip:+34911234567@pbx.example"),
    ],
)
def test_a_well_formed_id_is_accepted(id_type: Any, value: str) -> None:
    assert TypeAdapter(id_type).validate_python(value) == value


def test_a_malformed_call_id_in_a_report_names_its_position() -> None:
    with pytest.raises(ValidationError) as refused:
        TicketDetails.model_validate(
            {
                "customer_id": "acme-telecom",
                "category": "call_quality",
                "summary": "Choppy audio",
                "call_ids": ["c-1", "not a call id"],
                "reporting_system": "crm",
            }
        )

    assert refused.value.errors()[0]["loc"] == ("call_ids", 1)


def test_the_same_caller_and_idempotency_key_always_name_the_same_ticket() -> None:
    first = ticket_id_for_request("crm", "request-42")

    assert ticket_id_for_request("crm", "request-42") == first
    assert TypeAdapter(TicketId).validate_python(first) == first


@pytest.mark.parametrize(
    ("principal", "key"),
    [("crm", "request-43"), ("agent-desk", "request-42"), ("crm\x00request", "42")],
    ids=["another-key", "another-caller", "no-separator-collision"],
)
def test_another_caller_or_key_names_another_ticket(principal: str, key: str) -> None:
    assert ticket_id_for_request(principal, key) != ticket_id_for_request("crm", "request-42")


def test_a_notification_id_is_the_same_for_the_same_event_recipient_and_channel() -> None:
    first = notification_id("event-1", "acme-telecom", "webhook")

    assert notification_id("event-1", "acme-telecom", "webhook") == first
    assert first.startswith("NTF-")
    assert len(first) == len("NTF-") + 26


@pytest.mark.parametrize(
    ("event_id", "recipient", "channel"),
    [
        ("event-2", "acme-telecom", "webhook"),
        ("event-1", "globex", "webhook"),
        ("event-1", "acme-telecom", "in_app"),
    ],
    ids=["another-event", "another-recipient", "another-channel"],
)
def test_a_notification_id_differs_for_another_event_recipient_or_channel(
    event_id: str, recipient: str, channel: str
) -> None:
    assert notification_id(event_id, recipient, channel) != notification_id(
        "event-1", "acme-telecom", "webhook"
    )
