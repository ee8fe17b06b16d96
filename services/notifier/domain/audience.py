"""Who hears about an event, on which channel and in which language: decided by the directory."""

from dataclasses import dataclass

from shared.customers import ALWAYS_SENT, FALLBACK_LANGUAGE, Customer, Language, MessageKind
from shared.vocabulary import Channel

# SMS is kept for the moments that matter; every other channel carries every kind.
SMS_KINDS = frozenset({MessageKind.OUTAGE, MessageKind.OUTAGE_RESOLVED})

# The in-app feed belongs to the customer's account, not to one contact.
ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Recipient:
    contact_id: str
    channel: Channel
    language: Language
    address: str | None  # where it goes: an email address, a phone number, a URL


def recipients(customer: Customer | None, kind: MessageKind) -> list[Recipient]:
    """Every (contact, channel) that must be told about a message of `kind`.

    An unknown customer still gets the in-app record, so nothing a customer should know is
    lost because the directory lacks them.
    """
    if customer is None:
        return [Recipient(ACCOUNT, Channel.IN_APP, FALLBACK_LANGUAGE, None)]
    found = [_in_app_record(customer)] if any(c.in_app for c in customer.contacts) else []
    for contact in customer.contacts:
        if kind in contact.opt_out and kind not in ALWAYS_SENT:
            continue
        addresses = {
            Channel.EMAIL: contact.email,
            Channel.SMS: contact.phone if kind in SMS_KINDS else None,
            Channel.WEBHOOK: contact.webhook.url if contact.webhook else None,
        }
        found += [
            Recipient(contact.contact_id, channel, contact.language, address)
            for channel, address in addresses.items()
            if address is not None
        ]
    return found


def _in_app_record(customer: Customer) -> Recipient:
    following = [contact for contact in customer.contacts if contact.in_app]
    return Recipient(ACCOUNT, Channel.IN_APP, following[0].language, None)
