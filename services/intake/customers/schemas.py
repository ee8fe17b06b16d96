"""HTTP models of the customer directory (what an agent sends, views that hide secrets) and of
a customer's notifications."""

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from shared.customers import ALWAYS_SENT, Contact, Customer, Language, MessageKind, Services
from shared.events import ValueObject
from shared.vocabulary import Channel, DeliveryStatus, Slug

NumberRange = Annotated[
    str, Field(pattern=r"^\+[0-9]{1,15}$", description="A number range as its prefix: +3491")
]

EXAMPLE: dict[str, Any] = {
    "name": "Iberia Calls S.L.",
    "contacts": [
        {
            "contact_id": "noc",
            "name": "Network operations",
            "language": "es",
            "email": "noc@iberiacalls.example",
            "phone": "+34910000000",
            "webhook": {
                "url": "https://iberiacalls.example/hooks/switchboard",
                "secret": "a-long-random-signing-secret",
            },
            "opt_out": ["progress"],
        },
        {"contact_id": "billing", "name": "Facturación", "in_app": True},
    ],
    "services": {
        "regions": ["eu-south"],
        "carrier_routes": ["telefonica-es"],
        "number_ranges": ["+3491"],
        "products": ["sip-trunk"],
    },
}


# Outage messages always go out: a contact's opt-outs never name these.
NOT_OPTIONAL = sorted(kind.value for kind in ALWAYS_SENT)


def _opt_outs_never_name_outages(schema: dict[str, Any]) -> None:
    items = schema.get("items") or schema.get("anyOf", [{}])[0].get("items", {})
    items["not"] = {"enum": NOT_OPTIONAL}


class ContactRequest(Contact):
    """A contact as an agent sends it: `in_app` is a JSON boolean, never 0 or "yes"."""

    in_app: StrictBool = True
    opt_out: Annotated[
        tuple[MessageKind, ...],
        Field(
            description=f"Kinds of message this contact does not want; never {NOT_OPTIONAL}",
            json_schema_extra=_opt_outs_never_name_outages,
        ),
    ] = ()


class CustomerRequest(ValueObject):
    """A directory entry as an agent sends it: `shared.customers.Customer` without its id."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: Annotated[str, Field(min_length=1, max_length=200)]
    contacts: Annotated[
        list[ContactRequest],
        Field(min_length=1, max_length=50, description="Each `contact_id` at most once"),
    ]
    services: Services = Services()

    @field_validator("contacts")
    @classmethod
    def _contact_ids_unique(cls, contacts: list[ContactRequest]) -> list[ContactRequest]:
        # `Customer` refuses this too; checking it here makes the 422 name `contacts`.
        ids = [contact.contact_id for contact in contacts]
        repeated = sorted({contact_id for contact_id in ids if ids.count(contact_id) > 1})
        if repeated:
            raise ValueError(f"contact_id must be unique within a customer; repeated: {repeated}")
        return contacts

    def for_customer(self, customer_id: str) -> Customer:
        contacts = [Contact.model_validate(contact.model_dump()) for contact in self.contacts]
        return Customer(
            customer_id=customer_id, name=self.name, contacts=contacts, services=self.services
        )


class PreferencesRequest(ValueObject):
    """What a contact chooses for themselves; outage messages cannot be opted out of.
    At least one of `opt_out` and `language` is given."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["opt_out"], "properties": {"opt_out": {"type": "array"}}},
                {"required": ["language"], "properties": {"language": {"type": "string"}}},
            ]
        }
    )

    opt_out: Annotated[
        list[MessageKind] | None,
        Field(
            max_length=len(MessageKind),
            description=(
                "Replaces the kinds of message the contact does not want ([] for all); "
                f"never {NOT_OPTIONAL}"
            ),
            json_schema_extra=_opt_outs_never_name_outages,
        ),
    ] = None
    language: Language | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.opt_out is None and self.language is None:
            raise ValueError("name the `opt_out` kinds and/or the `language` to change")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class CustomerFilters(BaseModel):
    """Customers using every one of these: a region, route or product exactly; a number range
    as outages match it, any of the customer's ranges overlapping it (+34 and +3491 do)."""

    model_config = ConfigDict(extra="forbid")

    region: Slug | None = None
    carrier_route: Slug | None = None
    number_range: Annotated[
        NumberRange | None,
        Field(description="An E.164 prefix; a customer range inside it, or around it, matches"),
    ] = None
    product: Slug | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class WebhookView(BaseModel):
    url: str
    secret_set: Annotated[bool, Field(description="A signing secret is stored; never shown")]


class ContactView(BaseModel):
    contact_id: str
    name: str
    channels: Annotated[list[Channel], Field(description="Where this contact hears from us")]
    language: Language
    email: str | None
    phone: str | None
    webhook: WebhookView | None
    in_app: bool
    opt_out: list[MessageKind]


class CustomerView(BaseModel):
    """A directory entry as shown back: webhook secrets are never echoed."""

    customer_id: str
    name: str
    contacts: list[ContactView]
    services: Services


def contact_view(contact: Contact) -> ContactView:
    webhook = contact.webhook
    return ContactView(
        contact_id=contact.contact_id,
        name=contact.name,
        channels=contact.channels(),
        language=contact.language,
        email=contact.email,
        phone=contact.phone,
        webhook=WebhookView(url=webhook.url, secret_set=bool(webhook.secret)) if webhook else None,
        in_app=contact.in_app,
        opt_out=list(contact.opt_out),
    )


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView(
        customer_id=customer.customer_id,
        name=customer.name,
        contacts=[contact_view(contact) for contact in customer.contacts],
        services=customer.services,
    )


class NotificationView(BaseModel):
    """One notification: about a ticket, or (`incident_id`) an outage broadcast."""

    notification_id: str
    ticket_id: str | None = None
    incident_id: str | None = None
    event_type: str
    channel: str
    subject: str
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None
