"""Consumed records as alerts: the few facts operators are told of, found without decoding the
rest (every ticket event passes here; only an `SlaBreached` one is parsed)."""

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.notifier.domain.alerts import (
    Alert,
    dead_letter_alert,
    incident_declared_alert,
    sla_breached_alert,
)
from shared.events import SlaBreached
from shared.incidents import IncidentDeclared
from shared.topics import DEAD_LETTER, INCIDENT_EVENTS, TICKET_EVENTS

ALERT_TOPICS = (INCIDENT_EVENTS, TICKET_EVENTS, DEAD_LETTER)


def alert_of(record: "ConsumerRecord[bytes, bytes]") -> Alert | None:
    """The alert a record raises, if any. A record that does not parse raises none here: the
    service that consumes it for real dead-letters it, and that raises its alert."""
    value = record.value or b""
    try:
        if record.topic == INCIDENT_EVENTS.name and b'"IncidentDeclared"' in value:
            return incident_declared_alert(IncidentDeclared.model_validate_json(value))
        if record.topic == TICKET_EVENTS.name and b'"SlaBreached"' in value:
            return sla_breached_alert(SlaBreached.model_validate_json(value))
    except ValidationError:
        return None
    if record.topic == DEAD_LETTER.name:
        headers = {name: raw.decode(errors="replace") for name, raw in record.headers}
        key = record.key.decode(errors="replace") if record.key is not None else None
        return dead_letter_alert(headers, key)
    return None
