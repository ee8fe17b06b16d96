"""Who an outage broadcast reaches, how its audience is cut into chunks, what each is told."""

from datetime import UTC, datetime

import pytest

from services.notifier.domain.audience import ACCOUNT
from services.notifier.domain.broadcast import (
    Audience,
    DirectoryEntry,
    audience_of,
    chunk_length,
    cut_into_chunks,
    notification_documents,
)
from shared.customers import Contact, Customer, Language, MessageKind, Services, WebhookAddress
from shared.events import WORKFLOW
from shared.incidents import (
    BroadcastChunk,
    BroadcastRecipient,
    IncidentDeclared,
    IncidentScope,
    Severity,
)
from shared.vocabulary import Channel, DeliveryStatus, notification_id

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
MADRID = Services(regions=("eu-south",), number_ranges=("+3491",))
NOC = Contact(
    contact_id="noc",
    name="NOC",
    language=Language.ES,
    email="noc@iberia.example",
    phone="+34911234567",
    webhook=WebhookAddress(url="https://noc.iberia.example/hook", secret="s" * 20),
)


def entry(customer_id: str, services: Services = MADRID, *contacts: Contact) -> DirectoryEntry:
    customer = Customer(
        customer_id=customer_id,
        name=customer_id.title(),
        contacts=list(contacts) or [NOC],
        services=services,
    )
    return DirectoryEntry(customer_id, customer, services)


def audience(customer_id: str, recipients: int) -> Audience:
    told = tuple(
        BroadcastRecipient(
            customer_id=customer_id,
            contact_id=f"c{number}",
            channel=Channel.EMAIL,
            language=Language.EN,
            address=f"c{number}@{customer_id}.example",
        )
        for number in range(recipients)
    )
    return Audience(customer_id, told)


@pytest.mark.parametrize(
    "scope",
    [
        IncidentScope(regions=("eu-south",)),
        IncidentScope(customer_ids=("iberia",)),
        IncidentScope(number_ranges=("+34",)),  # the customer's range lies inside
        IncidentScope(number_ranges=("+349112",)),  # the outage lies inside the customer's
    ],
    ids=["region", "named", "wider-range", "narrower-range"],
)
def test_an_outage_reaches_a_customer_its_scope_covers(scope: IncidentScope) -> None:
    assert audience_of(entry("iberia"), scope, MessageKind.OUTAGE) is not None


@pytest.mark.parametrize(
    "scope",
    [
        IncidentScope(regions=("us-east",)),
        IncidentScope(customer_ids=("globex",)),
        IncidentScope(number_ranges=("+3493",)),
    ],
    ids=["other-region", "other-customer", "other-range"],
)
def test_an_outage_misses_a_customer_outside_its_scope(scope: IncidentScope) -> None:
    assert audience_of(entry("iberia"), scope, MessageKind.OUTAGE) is None


def test_every_contact_hears_of_an_outage_on_every_channel_sms_included() -> None:
    found = audience_of(entry("iberia"), IncidentScope(regions=("eu-south",)), MessageKind.OUTAGE)

    assert found is not None
    assert {(r.customer_id, r.contact_id, r.channel, r.language) for r in found.recipients} == {
        ("iberia", ACCOUNT, Channel.IN_APP, Language.ES),
        ("iberia", "noc", Channel.EMAIL, Language.ES),
        ("iberia", "noc", Channel.SMS, Language.ES),
        ("iberia", "noc", Channel.WEBHOOK, Language.ES),
    }


def test_an_unusable_directory_entry_inside_the_scope_still_gets_its_in_app_record() -> None:
    unusable = DirectoryEntry("iberia", None, MADRID)

    found = audience_of(unusable, IncidentScope(regions=("eu-south",)), MessageKind.OUTAGE)

    assert found is not None
    assert [(r.contact_id, r.channel) for r in found.recipients] == [(ACCOUNT, Channel.IN_APP)]


def test_chunks_take_at_most_the_chunk_size_in_customers_in_the_order_given() -> None:
    audiences = [audience(f"customer-{n}", 1) for n in range(7)]

    chunks = list(cut_into_chunks(audiences, customers=3))

    assert [[a.customer_id for a in chunk] for chunk in chunks] == [
        ["customer-0", "customer-1", "customer-2"],
        ["customer-3", "customer-4", "customer-5"],
        ["customer-6"],
    ]


def test_a_chunk_ends_early_rather_than_exceed_the_recipient_limit() -> None:
    audiences = [audience("a", 3), audience("b", 3), audience("c", 3), audience("d", 1)]

    chunks = list(cut_into_chunks(audiences, customers=10, max_recipients=7))

    assert [[a.customer_id for a in chunk] for chunk in chunks] == [["a", "b"], ["c", "d"]]


def test_a_customer_with_more_recipients_than_the_limit_still_gets_a_chunk_of_its_own() -> None:
    assert chunk_length([audience("huge", 9), audience("small", 1)], 10, max_recipients=5) == 1


def test_the_same_audience_is_always_cut_into_the_same_chunks() -> None:
    audiences = [audience(f"customer-{n}", n % 4 + 1) for n in range(50)]

    first = list(cut_into_chunks(audiences, customers=7, max_recipients=12))
    again = list(cut_into_chunks(iter(audiences), customers=7, max_recipients=12))

    assert first == again
    assert [a for chunk in first for a in chunk] == audiences


def test_nobody_affected_makes_no_chunk() -> None:
    assert list(cut_into_chunks([], customers=250)) == []


def declared() -> IncidentDeclared:
    return IncidentDeclared(
        event_id="event-declared-1",
        occurred_at=NOW,
        incident_id="INC-0123456789ABCDEF",
        actor=WORKFLOW,
        title="Calls to Madrid fail",
        severity=Severity.CRITICAL,
        scope=IncidentScope(regions=("eu-south",)),
        message="We are moving calls to another carrier route.",
    )


def test_a_chunk_makes_one_notification_per_recipient_named_like_a_tickets() -> None:
    found = audience_of(entry("iberia"), IncidentScope(regions=("eu-south",)), MessageKind.OUTAGE)
    assert found is not None
    chunk = BroadcastChunk(event=declared(), chunk=0, recipients=list(found.recipients))

    documents = {d["channel"]: d for d in notification_documents(chunk, NOW)}

    assert set(documents) == {"in_app", "email", "sms", "webhook"}
    email = documents["email"]
    assert email["_id"] == notification_id("event-declared-1", "iberia/noc", "email")
    assert documents["in_app"]["_id"] == notification_id(
        "event-declared-1", "iberia/account", "in_app"
    )
    assert (email["ticket_id"], email["incident_id"]) == (None, "INC-0123456789ABCDEF")
    assert (email["kind"], email["event_type"], email["language"]) == (
        "outage",
        "IncidentDeclared",
        "es",
    )
    assert email["address"] == "noc@iberia.example"
    assert email["subject"] == "Incidencia en el servicio: Calls to Madrid fail"


def test_in_app_is_delivered_by_being_stored_and_the_rest_is_claimed_for_delivery() -> None:
    found = audience_of(entry("iberia"), IncidentScope(regions=("eu-south",)), MessageKind.OUTAGE)
    assert found is not None
    chunk = BroadcastChunk(event=declared(), chunk=0, recipients=list(found.recipients))

    documents = {d["channel"]: d for d in notification_documents(chunk, NOW)}

    assert documents.pop("in_app")["status"] == DeliveryStatus.DELIVERED
    assert {(d["status"], d["leased_at"], d["attempts"]) for d in documents.values()} == {
        (DeliveryStatus.PENDING, NOW, 0)
    }
