"""Identifiers and enumerations every service speaks."""

import hashlib
import secrets
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

TicketId = Annotated[str, StringConstraints(pattern=r"^TCK-[0-9A-Z]{16}$")]
CustomerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
CallId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$")]
IncidentId = Annotated[str, StringConstraints(pattern=r"^INC-[0-9A-Z]{16}$")]
# A service attribute value: a region, carrier route or product name.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# A number range is a prefix in E.164: +34 holds every Spanish number, +3491 Madrid's.
NumberRange = Annotated[str, StringConstraints(pattern=r"^\+[0-9]{1,15}$")]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(chars)


def ticket_id_for_request(principal: str, idempotency_key: str) -> str:
    """The same caller retrying with the same idempotency key always names the same ticket."""
    digest = hashlib.sha256(f"{principal}\x00{idempotency_key}".encode()).digest()
    return f"TCK-{_base32(digest, 16)}"


def new_ticket_id() -> str:
    return f"TCK-{_base32(secrets.token_bytes(10), 16)}"


def incident_id_for_request(principal: str, idempotency_key: str) -> str:
    """The same operator retrying with the same idempotency key always names the same incident."""
    digest = hashlib.sha256(f"incident\x00{principal}\x00{idempotency_key}".encode()).digest()
    return f"INC-{_base32(digest, 16)}"


def incident_id_for_burst(rule: str, value: str, window_start: str) -> str:
    """A burst detected twice in one window (say by two workflow instances) is one incident."""
    digest = hashlib.sha256(f"burst\x00{rule}\x00{value}\x00{window_start}".encode()).digest()
    return f"INC-{_base32(digest, 16)}"


def development_ticket_id(command_id: str) -> str:
    """Derived from the command that asked for it, so a redelivery opens no second one."""
    return f"DEV-{_base32(hashlib.sha256(command_id.encode()).digest(), 16)}"


def new_event_id() -> str:
    return str(uuid.uuid4())


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """Deterministic, so a redelivered event maps onto the notification already stored."""
    digest = hashlib.sha256(f"{event_id}\x00{recipient}\x00{channel}".encode()).digest()
    return f"NTF-{_base32(digest, 26)}"


class Category(StrEnum):
    COMPLEX_TECHNICAL = "complex_technical"
    NUMBER_ACTIVATION = "number_activation"
    NUMBER_PORTING = "number_porting"
    USER_PROVISIONING = "user_provisioning"
    CALL_QUALITY = "call_quality"
    SERVICE_OUTAGE = "service_outage"
    OTHER = "other"


class Team(StrEnum):
    LEVEL_1 = "level_1_support"
    LEVEL_2 = "level_2_support"
    TELECOM_ENGINEERING = "telecom_engineering"
    NUMBERING = "numbering"
    PROVISIONING = "provisioning"
    INCIDENT = "incident"
    DEVELOPMENT = "development"


class Priority(StrEnum):
    P1 = "p1"
    P2 = "p2"
    P3 = "p3"
    P4 = "p4"


class TicketStatus(StrEnum):
    """Where a ticket is in the support process; `shared.lifecycle` says how it moves."""

    OPENED = "opened"
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    DEVELOPMENT = "development"
    FIX_IN_PROGRESS = "fix_in_progress"
    TESTING = "testing"
    DEPLOYED = "deployed"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    RESOLVED = "resolved"
    CLOSED = "closed"


class DevelopmentStatus(StrEnum):
    """A development ticket's own status, as the development tracker reports it."""

    OPEN = "open"
    FIX_IN_PROGRESS = "fix_in_progress"
    TESTING = "testing"
    DEPLOYED = "deployed"


class SlaClock(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Role(StrEnum):
    """What an API key may do: source systems file tickets, agents work them, customers read."""

    SYSTEM = "system"
    AGENT = "agent"
    CUSTOMER = "customer"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    COLLAPSED = "collapsed"  # folded into an earlier email still held, sent with it as one
