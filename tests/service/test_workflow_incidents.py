"""Outages in the workflow, on an in-memory broker: declared, tickets linked, detected from a
burst of tickets, resolved with their tickets, and nothing done twice."""

import logging
from datetime import timedelta
from typing import cast

import pytest
from faststream.kafka import TestKafkaBroker

from services.workflow.deliveries import TicketDeliveries
from services.workflow.domain.bursts import window_start
from services.workflow.outbox import Outbox, OutboxRelay
from shared.customers import Services
from shared.deliveries import NotificationDelivered
from shared.events import WORKFLOW, AffectedService, LinkToIncident
from shared.incidents import AnyIncidentCommand, IncidentScope
from shared.mongo import Collection, Document
from shared.topics import INCIDENT_EVENTS, TICKET_COMMANDS, DeadLetterHeader
from shared.vocabulary import Category, Priority, TicketStatus, incident_id_for_burst
from tests.service.fakes import NOW
from tests.service.outage_wiring import (
    INCIDENT_ID,
    build_outage_workflow,
    declaration,
    minutes,
    opening,
    report,
    resolution,
    send_incident_command,
    send_ticket_command,
    update,
)
from tests.service.workflow_wiring import RULES

EU_WEST = AffectedService(region="eu-west")
US_EAST = AffectedService(region="us-east")
DIRECTORY = {
    "acme-telecom": Services(regions=("eu-west",)),
    "globex": Services(regions=("us-east",)),
}
REGION_EU_WEST = IncidentScope(regions=("eu-west",))
REGIONAL_OUTAGE = next(r for r in RULES.incidents.detection if r.name == "regional-outage")


async def test_declaring_an_outage_links_the_open_tickets_in_its_scope_and_no_others() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    tickets = {
        "customer-in-region": opening(1, report("acme-telecom", Category.CALL_QUALITY)),
        "customer-elsewhere": opening(2, report("globex", Category.CALL_QUALITY)),
        "not-an-outage-kind": opening(3, report("acme-telecom", Category.NUMBER_PORTING)),
        "service-in-region": opening(4, report("globex", affected=EU_WEST)),
        "service-elsewhere": opening(5, report("acme-telecom", affected=US_EAST)),
    }

    async with TestKafkaBroker(workflow.broker) as broker:
        for command in tickets.values():
            await send_ticket_command(broker, command)
        await send_incident_command(broker, declaration(REGION_EU_WEST))

    linked = {tickets["customer-in-region"].ticket_id, tickets["service-in-region"].ticket_id}
    assert workflow.linked() == linked
    assert workflow.incident_event_types() == ["IncidentDeclared"]
    assert workflow.ticket_event_types().count("TicketLinkedToIncident") == 2
    for ticket_id in linked:
        document = workflow.tickets.documents[ticket_id]
        assert (document["incident_id"], document["priority"]) == (INCIDENT_ID, "p1")


async def test_a_linked_ticket_takes_the_outage_priority_and_hears_of_it() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    command = opening(1, report("acme-telecom", Category.CALL_QUALITY))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_ticket_command(broker, command)
        await send_incident_command(broker, declaration(REGION_EU_WEST))

    link = workflow.commands_of("LinkToIncident")
    assert [c.command_id for c in link] == [f"link:{INCIDENT_ID}:{command.ticket_id}"]
    linked_event = workflow.tickets.documents[command.ticket_id]["events"][-1]
    assert linked_event["type"] == "TicketLinkedToIncident"
    assert (linked_event["from_priority"], linked_event["priority"]) == ("p2", "p1")
    assert linked_event["title"] == "Calls fail in eu-west"


async def test_a_ticket_opened_during_an_open_outage_is_linked_to_it() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    command = opening(1, report("acme-telecom", Category.OTHER))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        await send_ticket_command(broker, command)

    assert workflow.linked() == {command.ticket_id}
    assert workflow.ticket_event_types() == [
        "TicketOpened",
        "TicketTriaged",
        "TicketLinkedToIncident",
    ]


async def test_a_ticket_opened_outside_every_open_outage_stays_out() -> None:
    workflow = build_outage_workflow(DIRECTORY)

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        await send_ticket_command(broker, opening(1, report("globex", Category.CALL_QUALITY)))

    assert workflow.linked() == set()
    assert workflow.commands_of("LinkToIncident") == []


async def test_a_burst_of_similar_tickets_declares_one_outage_and_links_them() -> None:
    workflow = build_outage_workflow()
    rule = REGIONAL_OUTAGE
    burst = [opening(n, report(f"customer-{n}", affected=EU_WEST)) for n in range(rule.tickets)]
    elsewhere = opening(90, report("customer-90", affected=US_EAST))
    other_kind = opening(91, report("customer-91", Category.NUMBER_PORTING, affected=EU_WEST))

    async with TestKafkaBroker(workflow.broker) as broker:
        for command in [elsewhere, other_kind, *burst]:
            await send_ticket_command(broker, command)
            workflow.clock.advance(60)

    last_opened = NOW + minutes(rule.tickets + 1)
    expected = incident_id_for_burst(
        "regional-outage", "eu-west", window_start(rule.within, last_opened).isoformat()
    )
    declared = workflow.declarations()
    assert [(d.incident_id, d.type) for d in declared] == [(expected, "DeclareIncident")]
    assert declared[0].title == (
        f"Outage suspected: {rule.tickets} service_outage tickets in region eu-west within 10m"
    )
    assert workflow.incidents.documents[expected]["detected"] is True
    assert workflow.linked() == {command.ticket_id for command in burst}


async def test_a_ticket_after_the_burst_joins_the_detected_outage_without_declaring_again() -> None:
    workflow = build_outage_workflow()
    threshold = REGIONAL_OUTAGE.tickets
    burst = [opening(n, report(f"customer-{n}", affected=EU_WEST)) for n in range(threshold + 1)]

    async with TestKafkaBroker(workflow.broker) as broker:
        for command in burst:
            await send_ticket_command(broker, command)
            workflow.clock.advance(30)

    assert len(workflow.declarations()) == 1
    assert workflow.linked() == {command.ticket_id for command in burst}


async def test_fewer_tickets_than_the_rule_asks_for_declare_nothing() -> None:
    workflow = build_outage_workflow()
    threshold = REGIONAL_OUTAGE.tickets

    async with TestKafkaBroker(workflow.broker) as broker:
        for n in range(threshold - 1):
            await send_ticket_command(broker, opening(n, report(f"c-{n}", affected=EU_WEST)))
        workflow.clock.advance(timedelta(hours=1).total_seconds())
        await send_ticket_command(broker, opening(99, report("c-99", affected=EU_WEST)))

    assert workflow.declarations() == []
    assert workflow.incidents.documents == {}


async def test_a_detected_outage_alerts_the_operators(caplog: pytest.LogCaptureFixture) -> None:
    workflow = build_outage_workflow()
    threshold = REGIONAL_OUTAGE.tickets

    with caplog.at_level(logging.WARNING, logger="switchboard.workflow.incidents"):
        async with TestKafkaBroker(workflow.broker) as broker:
            for n in range(threshold):
                await send_ticket_command(broker, opening(n, report(f"c-{n}", affected=EU_WEST)))

    alerts = [r for r in caplog.records if r.getMessage().startswith("outage detected")]
    assert len(alerts) == 1
    assert alerts[0].levelno == logging.WARNING
    declared = workflow.incident_events[0]
    assert declared.key == workflow.declarations()[0].incident_id.encode()


async def test_resolving_an_outage_resolves_its_linked_tickets_for_confirmation() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    linked = opening(1, report("acme-telecom", Category.CALL_QUALITY))
    unlinked = opening(2, report("globex", Category.CALL_QUALITY))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_ticket_command(broker, linked)
        await send_ticket_command(broker, unlinked)
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        await send_incident_command(broker, update())
        await send_incident_command(broker, resolution())

    resolve = workflow.commands_of("ResolveWithIncident")
    assert [c.ticket_id for c in resolve] == [linked.ticket_id]
    document = workflow.tickets.documents[linked.ticket_id]
    assert document["status"] == TicketStatus.AWAITING_CONFIRMATION
    resolved = document["events"][-1]
    assert (resolved["type"], resolved["message"]) == (
        "ResolvedWithIncident",
        "Calls go through again.",
    )
    assert workflow.tickets.documents[unlinked.ticket_id]["status"] == TicketStatus.TRIAGED
    assert workflow.incident_event_types() == [
        "IncidentDeclared",
        "IncidentUpdated",
        "IncidentResolved",
    ]
    assert {r.key for r in workflow.incident_events} == {INCIDENT_ID.encode()}


async def test_a_ticket_linked_just_as_its_outage_ends_resolves_with_it() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    ticket = opening(1, report("globex", Category.CALL_QUALITY))  # out of scope: not linked

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_ticket_command(broker, ticket)
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        await send_incident_command(broker, resolution())
        # A link decided while the outage was open, arriving after its resolution.
        link = late_link(ticket.ticket_id)
        await broker.publish(link, TICKET_COMMANDS.name, key=link.ticket_id.encode())

    document = workflow.tickets.documents[ticket.ticket_id]
    assert document["status"] == TicketStatus.AWAITING_CONFIRMATION
    assert [e["type"] for e in document["events"][-2:]] == [
        "TicketLinkedToIncident",
        "ResolvedWithIncident",
    ]


async def test_redelivered_incident_commands_change_nothing_twice() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    ticket = opening(1, report("acme-telecom", Category.CALL_QUALITY))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_ticket_command(broker, ticket)
        commands: list[AnyIncidentCommand] = [declaration(REGION_EU_WEST), update(), resolution()]
        for command in commands:
            await send_incident_command(broker, command)
            await send_incident_command(broker, command)

    assert workflow.incidents.saves == 3
    incident = workflow.incidents.documents[INCIDENT_ID]
    assert [e["type"] for e in incident["events"]] == [
        "IncidentDeclared",
        "IncidentUpdated",
        "IncidentResolved",
    ]
    assert incident["update_count"] == 1
    assert workflow.incident_event_types() == [
        "IncidentDeclared",
        "IncidentUpdated",
        "IncidentResolved",
    ]
    ticket_events = [e["type"] for e in workflow.tickets.documents[ticket.ticket_id]["events"]]
    assert ticket_events.count("TicketLinkedToIncident") == 1
    assert ticket_events.count("ResolvedWithIncident") == 1
    assert workflow.dead_letters == []


async def test_a_redelivered_open_command_links_its_ticket_once() -> None:
    workflow = build_outage_workflow(DIRECTORY)
    command = opening(1, report("acme-telecom", Category.OTHER))

    async with TestKafkaBroker(workflow.broker) as broker:
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        await send_ticket_command(broker, command)
        await send_ticket_command(broker, command)

    types = workflow.ticket_event_types()
    assert types.count("TicketLinkedToIncident") == 1
    assert workflow.tickets.saves == 2  # opened, then linked


@pytest.mark.parametrize(
    ("commands", "error"),
    [
        ([update()], f"UnprocessableMessage: UpdateIncident for unknown incident {INCIDENT_ID}"),
        (
            [declaration(REGION_EU_WEST), resolution(), update(number=2)],
            f"IncidentResolvedError: incident {INCIDENT_ID} is resolved already",
        ),
    ],
    ids=["unknown-incident", "resolved-incident"],
)
async def test_an_update_that_can_never_apply_is_dead_lettered(
    commands: list[AnyIncidentCommand], error: str
) -> None:
    workflow = build_outage_workflow()

    async with TestKafkaBroker(workflow.broker) as broker:
        for command in commands:
            await send_incident_command(broker, command)

    assert [d.headers[DeadLetterHeader.ERROR] for d in workflow.dead_letters] == [error]


async def test_incident_events_a_crash_left_pending_are_relayed() -> None:
    workflow = build_outage_workflow()
    async with TestKafkaBroker(workflow.broker) as broker:
        await send_incident_command(broker, declaration(REGION_EU_WEST))
        # As if the process died before Kafka acknowledged the event.
        document = workflow.incidents.documents[INCIDENT_ID]
        document["outbox_pending"] = [e["event_id"] for e in document["events"]]
        outbox = Outbox(workflow.incidents, broker.publisher(INCIDENT_EVENTS.name))
        relay = OutboxRelay(outbox, workflow.incidents, workflow.clock, interval_s=1, grace_s=5)
        workflow.clock.advance(6)

        assert await relay.relay_once() == 1

    assert workflow.incident_event_types() == ["IncidentDeclared", "IncidentDeclared"]
    assert workflow.incidents.documents[INCIDENT_ID]["outbox_pending"] == []


def late_link(ticket_id: str) -> LinkToIncident:
    return LinkToIncident(
        command_id=f"link:{INCIDENT_ID}:{ticket_id}",
        issued_at=NOW,
        issued_by=WORKFLOW,
        ticket_id=ticket_id,
        incident_id=INCIDENT_ID,
        title="Calls fail in eu-west",
        message="Calls in eu-west fail.",
        priority=Priority.P1,
    )


class RecordsThatMustStayEmpty:
    async def insert_one(self, document: Document) -> None:
        raise AssertionError(f"recorded {document}")


async def test_a_delivery_of_an_outage_broadcast_is_not_recorded_on_any_ticket() -> None:
    deliveries = TicketDeliveries(cast(Collection, RecordsThatMustStayEmpty()))
    broadcast = NotificationDelivered(
        event_id="delivery-1",
        occurred_at=NOW,
        notification_id="NTF-1",
        incident_id=INCIDENT_ID,
        customer_id="acme-telecom",
        channel="email",
        event_type="IncidentDeclared",
        attempt=1,
    )

    assert await deliveries.record(broadcast) is False
