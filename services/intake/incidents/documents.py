"""The workflow's incident documents and the notifier's broadcast records as intake reads them.

The counts of an incident's reach are computed here, from what the queries return: the
broadcast records and the notifications counted per event and status in one aggregation.
"""

import logging
from collections import Counter
from datetime import datetime

from pydantic import Field, ValidationError

from services.intake.incidents.schemas import (
    BroadcastCounts,
    CustomerIncidentView,
    DeliveryCounts,
    IncidentCounts,
    IncidentSummary,
    IncidentView,
)
from services.intake.tickets.documents import Record
from shared.customers import Services
from shared.incidents import (
    AnyIncidentEvent,
    IncidentScope,
    IncidentStatus,
    Severity,
    incident_event_adapter,
)
from shared.mongo import Document
from shared.vocabulary import DeliveryStatus

log = logging.getLogger("switchboard.intake.incidents")


class IncidentRecord(Record):
    """An incident document: what is down, for whom, and where the outage stands."""

    incident_id: str
    title: str
    severity: Severity
    scope: IncidentScope
    status: IncidentStatus
    message: str
    detected: bool = False
    update_count: int = 0
    declared_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    version: int = 0
    # As stored; read without them unless the timeline is asked for.
    events: list[Document] = Field(default_factory=list)

    def affects(self, customer_id: str, services: Services) -> bool:
        return self.scope.matches(customer_id, services)


class BroadcastRecord(Record):
    """The notifier's plan for one incident event: how many it reaches, in how many chunks."""

    event_id: str
    event_type: str
    affected_customers: int = 0
    recipients: int = 0
    planned_at: datetime | None = None


def incident_record(document: Document) -> IncidentRecord:
    return IncidentRecord.model_validate({**document, "incident_id": document["_id"]})


def broadcast_record(document: Document) -> BroadcastRecord:
    return BroadcastRecord.model_validate({**document, "event_id": document["_id"]})


# A notification status count from the aggregation: {_id: {event_id, event_type, status}, count}.
StatusCount = Document


def broadcast_counts(
    incident: IncidentRecord, broadcasts: list[BroadcastRecord], counted: list[StatusCount]
) -> list[BroadcastCounts]:
    """One entry per incident event, in the timeline's order, then any the timeline lacks."""
    planned = {broadcast.event_id: broadcast for broadcast in broadcasts}
    statuses: dict[str, Counter[str]] = {}
    event_types = {event["event_id"]: event["type"] for event in incident.events}
    for row in counted:
        group = row["_id"]
        statuses.setdefault(group["event_id"], Counter())[group["status"]] += row["count"]
        event_types.setdefault(group["event_id"], group.get("event_type") or "")
    for broadcast in broadcasts:
        event_types.setdefault(broadcast.event_id, broadcast.event_type)
    return [
        _counts(event_id, event_type, planned.get(event_id), statuses.get(event_id, Counter()))
        for event_id, event_type in event_types.items()
    ]


def _counts(
    event_id: str, event_type: str, broadcast: BroadcastRecord | None, statuses: Counter[str]
) -> BroadcastCounts:
    return BroadcastCounts(
        event_id=event_id,
        event_type=event_type,
        planned_at=broadcast.planned_at if broadcast else None,
        affected=broadcast.affected_customers if broadcast else 0,
        recipients=broadcast.recipients if broadcast else 0,
        notified=statuses.total(),
        delivered=statuses[DeliveryStatus.DELIVERED.value],
        failed=statuses[DeliveryStatus.FAILED.value],
        pending=statuses[DeliveryStatus.PENDING.value],
    )


def totals(broadcasts: list[BroadcastCounts]) -> DeliveryCounts:
    """Summed; the customers affected are those of the latest broadcast planned, not a sum."""
    planned = [broadcast for broadcast in broadcasts if broadcast.planned_at is not None]
    return DeliveryCounts(
        affected=planned[-1].affected if planned else 0,
        recipients=sum(b.recipients for b in broadcasts),
        notified=sum(b.notified for b in broadcasts),
        delivered=sum(b.delivered for b in broadcasts),
        failed=sum(b.failed for b in broadcasts),
        pending=sum(b.pending for b in broadcasts),
    )


def incident_summary(incident: IncidentRecord) -> IncidentSummary:
    return IncidentSummary.model_validate(incident.model_dump(exclude={"events", "version"}))


def incident_view(
    incident: IncidentRecord, linked_tickets: int, broadcasts: list[BroadcastCounts]
) -> IncidentView:
    return IncidentView(
        **incident_summary(incident).model_dump(),
        events=[event for event in map(_parsed, incident.events) if event is not None],
        version=incident.version,
        linked_tickets=linked_tickets,
        counts=IncidentCounts(broadcasts=broadcasts, total=totals(broadcasts)),
    )


def customer_incident_view(incident: IncidentRecord) -> CustomerIncidentView:
    return CustomerIncidentView.model_validate(
        incident.model_dump(include=set(CustomerIncidentView.model_fields))
    )


def _parsed(stored: Document) -> AnyIncidentEvent | None:
    try:
        return incident_event_adapter.validate_python(stored)
    except ValidationError as error:
        # An event of a newer contract than this intake knows: leave it out, say so.
        log.warning(
            "incident event left out of a timeline",
            extra={"event_id": stored.get("event_id"), "error": str(error)},
        )
        return None
