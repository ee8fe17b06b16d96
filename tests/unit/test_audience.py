"""Who hears about what, on which channel: the directory and the message kind decide."""

import pytest

from services.notifier.domain.audience import ACCOUNT, recipients
from shared.customers import Contact, Customer, Language, MessageKind, WebhookAddress
from shared.vocabulary import Channel

EVERYWHERE = Contact(
    contact_id="noc",
    name="NOC",
    language=Language.FR,
    email="noc@example.com",
    phone="+34911234567",
    webhook=WebhookAddress(url="https://noc.example.com/hook", secret="s" * 20),
)
QUIET = Contact(
    contact_id="cfo",
    name="CFO",
    email="cfo@example.com",
    in_app=False,
    opt_out=(MessageKind.PROGRESS, MessageKind.LIFECYCLE),
)


def customer(*contacts: Contact) -> Customer:
    return Customer(customer_id="acme", name="Acme", contacts=list(contacts))


def told(kind: MessageKind, *contacts: Contact) -> set[tuple[str, Channel]]:
    return {(r.contact_id, r.channel) for r in recipients(customer(*contacts), kind)}


@pytest.mark.parametrize(
    ("kind", "sms"),
    [
        (MessageKind.ACKNOWLEDGEMENT, False),
        (MessageKind.LIFECYCLE, False),
        (MessageKind.UPDATE, False),
        (MessageKind.PROGRESS, False),
        (MessageKind.CONFIRMATION, False),
        (MessageKind.OUTAGE, True),
        (MessageKind.OUTAGE_RESOLVED, True),
    ],
)
def test_sms_is_kept_for_the_moments_that_matter(kind: MessageKind, sms: bool) -> None:
    assert (("noc", Channel.SMS) in told(kind, EVERYWHERE)) is sms


def test_every_accepted_channel_is_used_once_with_the_account_feed() -> None:
    assert told(MessageKind.OUTAGE, EVERYWHERE) == {
        (ACCOUNT, Channel.IN_APP),
        ("noc", Channel.EMAIL),
        ("noc", Channel.SMS),
        ("noc", Channel.WEBHOOK),
    }


@pytest.mark.parametrize("kind", [MessageKind.PROGRESS, MessageKind.LIFECYCLE])
def test_a_contact_that_opted_out_of_a_kind_does_not_hear_it(kind: MessageKind) -> None:
    assert ("cfo", Channel.EMAIL) not in told(kind, EVERYWHERE, QUIET)


@pytest.mark.parametrize("kind", [MessageKind.UPDATE, MessageKind.OUTAGE])
def test_a_contact_still_hears_the_kinds_it_did_not_opt_out_of(kind: MessageKind) -> None:
    assert ("cfo", Channel.EMAIL) in told(kind, EVERYWHERE, QUIET)


def test_a_contact_cannot_opt_out_of_outages() -> None:
    with pytest.raises(ValueError, match="outage messages always go out"):
        Contact(contact_id="x", name="X", opt_out=(MessageKind.OUTAGE,))


def test_the_account_feed_speaks_the_first_following_contacts_language() -> None:
    [feed] = [
        r
        for r in recipients(customer(QUIET, EVERYWHERE), MessageKind.UPDATE)
        if r.channel is Channel.IN_APP
    ]
    assert feed.language == "fr"


def test_without_anyone_following_in_app_there_is_no_feed_record() -> None:
    assert (ACCOUNT, Channel.IN_APP) not in told(MessageKind.UPDATE, QUIET)


def test_an_unknown_customer_still_gets_the_in_app_record() -> None:
    [only] = recipients(None, MessageKind.ACKNOWLEDGEMENT)
    assert (only.contact_id, only.channel) == (ACCOUNT, Channel.IN_APP)
