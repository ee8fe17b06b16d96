"""HTTP request and response models of the intake API."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from shared.events import TicketDetails
from shared.vocabulary import Category, DeliveryStatus, Priority, Team, TicketStatus


class TicketRequest(TicketDetails):
    """A problem reported by a source system or an agent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "acme-telecom",
                    "category": "call_quality",
                    "summary": "Choppy audio on outbound calls to Madrid",
                    "description": "Since 09:00 UTC, outbound calls break up every few seconds.",
                    "call_ids": ["c-20261125-0001", "c-20261125-0002"],
                    "affected_users": 3,
                    "reporting_system": "crm",
                }
            ]
        }
    )


class TicketAccepted(BaseModel):
    ticket_id: str
    url: str


class TicketView(BaseModel):
    ticket_id: str
    status: TicketStatus
    customer_id: str
    category: Category
    summary: str
    description: str
    call_ids: list[str]
    affected_users: int
    reporting_system: str
    team: Team | None
    priority: Priority | None
    created_at: datetime
    updated_at: datetime


class NotificationView(BaseModel):
    notification_id: str
    ticket_id: str
    event_type: str
    channel: str
    subject: str
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None


class WebhookContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret: Annotated[str, Field(min_length=16, max_length=256)]


class CustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    webhook: WebhookContact | None = None


class WebhookContactView(BaseModel):
    url: str
    secret_set: bool


class CustomerView(BaseModel):
    """A customer as shown back: the webhook secret is never echoed."""

    customer_id: str
    name: str
    webhook: WebhookContactView | None


class Problem(BaseModel):
    detail: str


class Readiness(BaseModel):
    kafka: bool
    database: bool
