"""Who an outage broadcast reaches, and how its audience is cut into chunks of work."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notifier.domain.audience import recipients
from services.notifier.domain.policy import CustomerMessage, kind_of, message_for
from shared.customers import Customer, Language, MessageKind, Services
from shared.incidents import BroadcastChunk, BroadcastRecipient, IncidentScope
from shared.vocabulary import Channel, DeliveryStatus, notification_id

# Far below the contract's limit: a chunk is one Kafka message, and Kafka refuses those
# over 1 MB; 2,000 recipients make about 300 kB.
MAX_CHUNK_RECIPIENTS = 2_000


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A customer as the directory holds it: `customer` is None when the entry is unusable,
    and then only the services it names (if any) decide whether an outage hits it."""

    customer_id: str
    customer: Customer | None
    services: Services


@dataclass(frozen=True, slots=True)
class Audience:
    """One affected customer and everyone there who must be told."""

    customer_id: str
    recipients: tuple[BroadcastRecipient, ...]


def audience_of(entry: DirectoryEntry, scope: IncidentScope, kind: MessageKind) -> Audience | None:
    """The customer's audience for an outage message, or None when the outage misses them.

    The scope decides alone; a query that found the entry only narrowed the search.
    """
    if not scope.matches(entry.customer_id, entry.services):
        return None
    told = tuple(
        BroadcastRecipient(
            customer_id=entry.customer_id,
            contact_id=recipient.contact_id,
            channel=recipient.channel,
            language=recipient.language,
            address=recipient.address,
        )
        for recipient in recipients(entry.customer, kind)
    )
    return Audience(entry.customer_id, told)


def chunk_length(
    audiences: Sequence[Audience],
    customers: int,
    max_recipients: int = MAX_CHUNK_RECIPIENTS,
) -> int:
    """How many of these audiences, in order, the next chunk takes: at most `customers`,
    and no more than `max_recipients` recipients unless a single customer alone has more.

    It looks at the first `customers` audiences only, so a caller reading the audiences as
    a stream can cut a chunk as soon as it holds that many.
    """
    taken = told = 0
    for audience in audiences[:customers]:
        told += len(audience.recipients)
        if taken and told > max_recipients:
            break
        taken += 1
    return taken


def cut_into_chunks(
    audiences: Iterable[Audience],
    customers: int,
    max_recipients: int = MAX_CHUNK_RECIPIENTS,
) -> Iterator[list[Audience]]:
    """The audiences in chunks, in the order given: the same audiences, the same chunks."""
    waiting: list[Audience] = []
    for audience in audiences:
        waiting.append(audience)
        if len(waiting) >= customers:
            yield take_chunk(waiting, customers, max_recipients)
    while waiting:
        yield take_chunk(waiting, customers, max_recipients)


def take_chunk(
    waiting: list[Audience], customers: int, max_recipients: int = MAX_CHUNK_RECIPIENTS
) -> list[Audience]:
    """Remove the next chunk from the front of `waiting` and return it."""
    length = chunk_length(waiting, customers, max_recipients)
    chunk = waiting[:length]
    del waiting[:length]
    return chunk


def chunk_recipients(chunk: Sequence[Audience]) -> list[BroadcastRecipient]:
    return [recipient for audience in chunk for recipient in audience.recipients]


def notification_documents(chunk: BroadcastChunk, now: datetime) -> list[dict[str, Any]]:
    """One notification per recipient of the chunk, with the ids a ticket's would have.

    In-app ones are delivered by being stored; the others are pending, claimed by whoever
    delivers the chunk (`leased_at`) until their outcome is known.
    """
    messages: dict[Language, CustomerMessage | None] = {}
    documents = []
    for recipient in chunk.recipients:
        if recipient.language not in messages:  # rendered once per language
            messages[recipient.language] = message_for(chunk.event, recipient.language)
        message = messages[recipient.language]
        if message is not None:
            documents.append(_document(chunk, recipient, message, now))
    return documents


def _document(
    chunk: BroadcastChunk, recipient: BroadcastRecipient, message: CustomerMessage, now: datetime
) -> dict[str, Any]:
    event = chunk.event
    recipient_id = f"{recipient.customer_id}/{recipient.contact_id}"
    return {
        "_id": notification_id(event.event_id, recipient_id, recipient.channel.value),
        "event_id": event.event_id,
        "event_type": event.type,
        "kind": kind_of(event).value,
        "ticket_id": None,
        "incident_id": event.incident_id,
        "chunk": chunk.chunk,  # whose counts it is part of
        "customer_id": recipient.customer_id,
        "contact_id": recipient.contact_id,
        "channel": recipient.channel.value,
        "language": recipient.language.value,
        "address": recipient.address,
        "subject": message.subject,
        "body": message.body,
        "occurred_at": event.occurred_at.isoformat(),
        "created_at": now,
        **_delivery_state(recipient.channel, now),
    }


def _delivery_state(channel: Channel, now: datetime) -> dict[str, Any]:
    if channel is Channel.IN_APP:
        return {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "attempts": 0}
    return {
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": now,
        "leased_at": now,
        "attempts": 0,
    }
