"""The delivery contract: what became of each notification, as events and as timeline entries."""

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter

from shared.events import Contract, ValueObject
from shared.vocabulary import CustomerId, IncidentId, TicketId

# Fixed forever: changing it would give every delivery event a new id.
_EVENT_ID_NAMESPACE = uuid.UUID("4f0d7c53-2a8e-5b1c-9e3f-7d6a1b2c3e4f")

Outcome = Literal["sent", "delivered", "failed"]
Error = Annotated[str, Field(max_length=2_000)]
# A `Channel` value; plain text so a channel added to the notifier first reads everywhere.
ChannelName = Annotated[str, Field(min_length=1, max_length=64)]


def delivery_event_id(notification_id: str, attempt: int, outcome: Outcome) -> str:
    """Deterministic, so re-publishing an attempt's outcome names the same event."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{notification_id}/{attempt}/{outcome}"))


class DeliveryEvent(Contract):
    """A fact about one notification's delivery; `event_type` is what the notification told."""

    event_id: str
    occurred_at: AwareDatetime
    notification_id: str
    ticket_id: TicketId | None = None  # None for an outage broadcast, which names its incident
    incident_id: IncidentId | None = None
    customer_id: CustomerId
    contact_id: str | None = None
    channel: ChannelName
    event_type: str
    attempt: Annotated[int, Field(ge=0)]  # 0: delivered by being stored (in-app)
    error: Error | None = None


class NotificationSent(DeliveryEvent):
    """Handed to its channel; `error` says why the channel did not take it, if it did not."""

    type: Literal["NotificationSent"] = "NotificationSent"


class NotificationDelivered(DeliveryEvent):
    type: Literal["NotificationDelivered"] = "NotificationDelivered"


class NotificationFailed(DeliveryEvent):
    """Given up: the failure cannot be fixed by retrying, or every attempt was used."""

    type: Literal["NotificationFailed"] = "NotificationFailed"


NotificationEvent = Annotated[
    NotificationSent | NotificationDelivered | NotificationFailed, Field(discriminator="type")
]
notification_event_adapter: TypeAdapter[NotificationEvent] = TypeAdapter(NotificationEvent)


class DeliveryEntry(ValueObject):
    """A delivery event as a ticket's timeline keeps it, beside (never inside) its events."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # entries a newer workflow wrote

    kind: Literal["delivery"] = "delivery"
    event_id: str
    type: Literal["NotificationSent", "NotificationDelivered", "NotificationFailed"]
    notification_id: str
    customer_id: str
    channel: str
    contact_id: str | None = None
    event_type: str
    attempt: int
    occurred_at: AwareDatetime
    error: str | None = None


def delivery_entry(event: DeliveryEvent) -> DeliveryEntry:
    return DeliveryEntry.model_validate(
        event.model_dump(include=set(DeliveryEntry.model_fields) - {"kind"})
    )
