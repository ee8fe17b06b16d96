"""The error a dead-lettered message carries: readable, and naming the field that is wrong."""

from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import UnprocessableMessage
from shared.events import ticket_command_adapter
from shared.kafka import describe_error
from tests.unit.examples import open_ticket_command


def validation_error(payload: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        ticket_command_adapter.validate_python(payload)
    return refused.value


def test_a_missing_field_is_named_by_its_path() -> None:
    payload = open_ticket_command().model_dump(mode="json")
    del payload["details"]["summary"]

    assert describe_error(validation_error(payload)) == (
        "invalid message: OpenTicket.details.summary: Field required"
    )


def test_every_wrong_field_is_named() -> None:
    payload = open_ticket_command().model_dump(mode="json")
    payload["ticket_id"] = "not-a-ticket"
    payload["details"]["call_ids"] = ["ok", "not ok"]

    description = describe_error(validation_error(payload))

    assert description.startswith("invalid message: ")
    assert "ticket_id: String should match pattern" in description
    assert "details.call_ids.1: String should match pattern" in description
    assert "; " in description


def test_another_error_is_named_by_its_type_and_message() -> None:
    error = UnprocessableMessage("ticket TCK-0123456789ABCDEF does not exist")

    assert describe_error(error) == (
        "UnprocessableMessage: ticket TCK-0123456789ABCDEF does not exist"
    )
