"""The customer directory's contract: contacts, the channels they accept, language, services."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from shared.events import ValueObject
from shared.vocabulary import Channel, CustomerId, NumberRange, Slug


class Language(StrEnum):
    ES = "es"
    EN = "en"
    FR = "fr"


FALLBACK_LANGUAGE = Language.EN


class MessageKind(StrEnum):
    """What a message is about; contacts opt out of kinds, never of the ones that matter."""

    ACKNOWLEDGEMENT = "acknowledgement"  # we received your report
    LIFECYCLE = "lifecycle"  # investigation, development, fix, escalation
    UPDATE = "update"  # an agent's public update, an alternative proposed
    PROGRESS = "progress"  # keep-in-loop "still working on it"
    CONFIRMATION = "confirmation"  # please confirm; resolved; closed
    OUTAGE = "outage"  # an incident affecting the customer: declared, updated
    OUTAGE_RESOLVED = "outage_resolved"


# Outages and their resolution always go out, whatever a contact opted out of.
ALWAYS_SENT = frozenset({MessageKind.OUTAGE, MessageKind.OUTAGE_RESOLVED})

Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,63}$")]
Phone = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")]
Secret = Annotated[str, Field(min_length=16, max_length=256)]


class WebhookAddress(ValueObject):
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)]
    secret: Secret


class Contact(ValueObject):
    """A person or system at the customer that hears from us, on the channels it accepts."""

    contact_id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    language: Language = FALLBACK_LANGUAGE
    email: Email | None = None
    phone: Phone | None = None
    webhook: WebhookAddress | None = None
    in_app: bool = True
    opt_out: tuple[MessageKind, ...] = ()

    @field_validator("opt_out")
    @classmethod
    def _outages_always_go_out(cls, kinds: tuple[MessageKind, ...]) -> tuple[MessageKind, ...]:
        refused = sorted(kind.value for kind in set(kinds) & ALWAYS_SENT)
        if refused:
            raise ValueError(f"outage messages always go out; cannot opt out of {refused}")
        return tuple(sorted(set(kinds)))

    def channels(self) -> list[Channel]:
        """The channels this contact accepts, in a fixed order."""
        accepted = {
            Channel.IN_APP: self.in_app,
            Channel.EMAIL: self.email is not None,
            Channel.SMS: self.phone is not None,
            Channel.WEBHOOK: self.webhook is not None,
        }
        return [channel for channel, yes in accepted.items() if yes]


class Services(ValueObject):
    """What the customer uses that an outage can hit; incidents match their scope on these."""

    regions: tuple[Slug, ...] = ()
    carrier_routes: tuple[Slug, ...] = ()
    number_ranges: tuple[NumberRange, ...] = ()
    products: tuple[Slug, ...] = ()


class Customer(ValueObject):
    customer_id: CustomerId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    contacts: Annotated[list[Contact], Field(min_length=1, max_length=50)]
    services: Services = Services()

    @model_validator(mode="after")
    def _contact_ids_unique(self) -> "Customer":
        ids = [contact.contact_id for contact in self.contacts]
        if len(set(ids)) != len(ids):
            raise ValueError("contact_id must be unique within a customer")
        return self
