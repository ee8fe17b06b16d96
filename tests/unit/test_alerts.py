"""Operator alerts: which facts raise one, what it says, and how many become one message."""

import pytest

from services.notifier.domain.alerts import (
    TEXT_LIMIT,
    AlertDigest,
    AlertKind,
    dead_letter_alert,
    incident_declared_alert,
    sla_breached_alert,
)
from shared.events import WORKFLOW, SlaBreached
from shared.incidents import IncidentDeclared, IncidentScope, Severity
from shared.topics import DeadLetterHeader
from shared.vocabulary import Priority, SlaClock
from tests.unit.examples import AGENT, NOW, TICKET_ID

INCIDENT_ID = "INC-0123456789ABCDEF"


def declared(*, detected: bool = False) -> IncidentDeclared:
    return IncidentDeclared(
        event_id="e-1",
        occurred_at=NOW,
        incident_id=INCIDENT_ID,
        actor=WORKFLOW if detected else AGENT,
        title="Calls failing in Madrid",
        severity=Severity.CRITICAL,
        scope=IncidentScope(regions=("madrid",)),
        message="Engineers are rerouting traffic.",
        detected=detected,
    )


def breached(priority: Priority | None) -> SlaBreached:
    return SlaBreached(
        event_id="e-2",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme",
        actor=WORKFLOW,
        clock=SlaClock.FIRST_RESPONSE,
        due_at=NOW,
        priority=priority,
    )


def dead_letter(topic: str = "switchboard.ticket-commands.v1", offset: int = 12) -> dict[str, str]:
    return {
        DeadLetterHeader.ERROR: "invalid message: details: Field required",
        DeadLetterHeader.SOURCE_TOPIC: topic,
        DeadLetterHeader.SOURCE_PARTITION: "4",
        DeadLetterHeader.SOURCE_OFFSET: str(offset),
        DeadLetterHeader.CONSUMER_GROUP: "switchboard-workflow",
        DeadLetterHeader.ATTEMPTS: "1",
    }


def test_a_declared_incident_is_named_with_its_severity_title_and_who_declared_it() -> None:
    alert = incident_declared_alert(declared())

    assert alert.kind is AlertKind.INCIDENT_DECLARED
    assert alert.line == (
        f"Incident {INCIDENT_ID} declared (critical, by dana): Calls failing in Madrid."
        " Engineers are rerouting traffic."
    )


def test_an_incident_found_by_burst_detection_says_so() -> None:
    assert (
        "detected from a burst of tickets" in incident_declared_alert(declared(detected=True)).line
    )


def test_a_p1_breach_raises_an_alert_naming_ticket_customer_clock_and_due_time() -> None:
    alert = sla_breached_alert(breached(Priority.P1))

    assert alert is not None
    assert alert.line == (
        f"SLA breached: p1 ticket {TICKET_ID} of customer acme missed its first response"
        " target (due 2026-11-25 09:30 UTC)"
    )


@pytest.mark.parametrize("priority", [Priority.P2, Priority.P3, Priority.P4, None])
def test_breaches_below_p1_or_of_unknown_priority_raise_none(priority: Priority | None) -> None:
    assert sla_breached_alert(breached(priority)) is None


def test_a_dead_letter_names_where_it_came_from_who_gave_up_and_why() -> None:
    alert = dead_letter_alert(dead_letter(), "TCK-BAD")

    assert alert.source == "switchboard.ticket-commands.v1"
    assert alert.line == (
        "Dead letter: a message from switchboard.ticket-commands.v1 (partition 4, offset 12,"
        " key TCK-BAD) could not be processed by switchboard-workflow after 1 attempt(s):"
        " invalid message: details: Field required"
    )


def test_a_dead_letter_without_headers_still_raises_a_readable_alert() -> None:
    line = dead_letter_alert({}, None).line

    assert "an unknown topic" in line
    assert "key none" in line
    assert "no error recorded" in line


def test_a_very_long_error_is_clipped() -> None:
    headers = dead_letter() | {DeadLetterHeader.ERROR: "x" * 4000}

    assert len(dead_letter_alert(headers, "k").line) == 400


def test_a_few_alerts_are_one_message_with_every_one_in_full() -> None:
    digest = AlertDigest()
    digest.add([incident_declared_alert(declared()), dead_letter_alert(dead_letter(), "k")])

    lines = digest.text().splitlines()

    assert len(lines) == 2
    assert lines[0].startswith(f"Switchboard: Incident {INCIDENT_ID} declared")
    assert lines[1].startswith("Switchboard: Dead letter: a message from")


def test_a_storm_of_dead_letters_is_one_summary_with_counts_by_topic_and_a_few_samples() -> None:
    digest = AlertDigest()
    digest.add(
        dead_letter_alert(dead_letter("switchboard.ticket-commands.v1", n), f"k{n}")
        for n in range(3000)
    )
    digest.add(dead_letter_alert(dead_letter("switchboard.ticket-events.v1"), "e") for _ in "ab")
    digest.add([incident_declared_alert(declared())])

    text = digest.text()

    assert text.splitlines()[0] == (
        "Switchboard: 3003 alerts since the last message — 1 incident declared; 3002 dead"
        " letters (3000 from switchboard.ticket-commands.v1, 2 from"
        " switchboard.ticket-events.v1)."
    )
    assert INCIDENT_ID in text  # an incident is never lost in a storm
    assert text.count("Dead letter: ") == 3
    assert "… and 2999 more dead letters" in text
    assert "./switchboard dead-letters list" in text
    assert len(text) <= TEXT_LIMIT


def test_a_digest_keeps_counts_not_every_alert() -> None:
    digest = AlertDigest()
    digest.add(dead_letter_alert(dead_letter(offset=n), "k") for n in range(10_000))

    assert digest.total == 10_000
    assert sum(len(lines) for lines in digest.samples.values()) == 3
    assert len(digest.first) == 5


def test_an_empty_digest_is_false() -> None:
    assert not AlertDigest()
