"""`decide_incident`: an outage declared, updated and resolved, and what it refuses."""

from datetime import timedelta

import pytest

from services.workflow.domain.incidents import (
    Incident,
    IncidentResolvedError,
    decide_incident,
)
from services.workflow.domain.tickets import event_id_for
from shared.errors import DomainError, UnprocessableMessage
from shared.events import Actor
from shared.incidents import (
    AnyIncidentCommand,
    DeclareIncident,
    IncidentDeclared,
    IncidentResolved,
    IncidentScope,
    IncidentStatus,
    IncidentUpdated,
    ResolveIncident,
    Severity,
    UpdateIncident,
)
from shared.vocabulary import Role
from tests.unit.examples import NOW

NOC = Actor(role=Role.AGENT, name="noc-desk")
INCIDENT_ID = "INC-0123456789ABCDEF"
SCOPE = IncidentScope(regions=("eu-west",))
LATER = NOW + timedelta(minutes=20)


def declare(request_hash: str = "b" * 64) -> DeclareIncident:
    return DeclareIncident(
        command_id="declare:1",
        issued_at=NOW,
        issued_by=NOC,
        incident_id=INCIDENT_ID,
        title="Calls fail in eu-west",
        severity=Severity.MAJOR,
        scope=SCOPE,
        message="Calls in eu-west fail; engineers are on it.",
        request_hash=request_hash,
        reason="many reports from eu-west",
    )


def update(severity: Severity | None = None, number: int = 1) -> UpdateIncident:
    return UpdateIncident(
        command_id=f"update:{number}",
        issued_at=LATER,
        issued_by=NOC,
        incident_id=INCIDENT_ID,
        message=f"Update {number}: traffic is being rerouted.",
        severity=severity,
    )


def resolve() -> ResolveIncident:
    return ResolveIncident(
        command_id="resolve:1",
        issued_at=LATER,
        issued_by=NOC,
        incident_id=INCIDENT_ID,
        message="Calls go through again.",
    )


def declared() -> Incident:
    return decide_incident(None, declare(), NOW).incident


def after(*commands: AnyIncidentCommand) -> Incident:
    incident = declared()
    for command in commands:
        incident = decide_incident(incident, command, LATER).incident
    return incident


def test_a_declared_outage_is_open_and_says_so_once() -> None:
    decision = decide_incident(None, declare(), NOW)

    incident = decision.incident
    assert (incident.status, incident.version, incident.update_count) == (IncidentStatus.OPEN, 1, 0)
    assert (incident.declared_at, incident.updated_at, incident.resolved_at) == (NOW, NOW, None)
    (event,) = decision.events
    assert isinstance(event, IncidentDeclared)
    assert event.event_id == event_id_for("declare:1", 0)
    assert (event.title, event.severity, event.scope) == (incident.title, Severity.MAJOR, SCOPE)
    assert (event.actor, event.reason, event.detected) == (NOC, "many reports from eu-west", False)


@pytest.mark.parametrize("request_hash", ["b" * 64, "c" * 64], ids=["same", "other-request"])
def test_declaring_a_declared_outage_again_changes_nothing(request_hash: str) -> None:
    incident = declared()

    decision = decide_incident(incident, declare(request_hash), LATER)

    assert decision.events == ()
    assert decision.incident == incident


def test_an_update_is_numbered_and_carries_the_new_message() -> None:
    incident = after(update(number=1))

    decision = decide_incident(incident, update(number=2), LATER)

    (event,) = decision.events
    assert isinstance(event, IncidentUpdated)
    assert event.update_number == 2
    assert event.message == "Update 2: traffic is being rerouted."
    assert decision.incident.update_count == 2
    assert decision.incident.version == incident.version + 1
    assert decision.incident.updated_at == LATER


@pytest.mark.parametrize(
    ("severity", "becomes"),
    [
        (None, Severity.MAJOR),
        (Severity.CRITICAL, Severity.CRITICAL),
        (Severity.MINOR, Severity.MINOR),
    ],
    ids=["unchanged", "worse", "milder"],
)
def test_an_update_may_change_the_severity(severity: Severity | None, becomes: Severity) -> None:
    decision = decide_incident(declared(), update(severity), LATER)

    assert decision.incident.severity is becomes
    assert decision.events[0].severity is becomes


def test_a_resolved_outage_says_when_and_how() -> None:
    decision = decide_incident(after(update()), resolve(), LATER)

    incident = decision.incident
    assert (incident.status, incident.resolved_at) == (IncidentStatus.RESOLVED, LATER)
    assert incident.message == "Calls go through again."
    (event,) = decision.events
    assert isinstance(event, IncidentResolved)
    assert (event.title, event.scope, event.message) == (
        incident.title,
        SCOPE,
        "Calls go through again.",
    )


@pytest.mark.parametrize("command", [update(), resolve()], ids=["update", "resolve"])
def test_a_change_to_an_unknown_incident_can_never_apply(command: AnyIncidentCommand) -> None:
    with pytest.raises(UnprocessableMessage, match=f"unknown incident {INCIDENT_ID}"):
        decide_incident(None, command, LATER)


@pytest.mark.parametrize("command", [update(), resolve()], ids=["update", "resolve"])
def test_a_resolved_incident_takes_no_more_changes(command: AnyIncidentCommand) -> None:
    with pytest.raises(IncidentResolvedError, match="is resolved already") as refused:
        decide_incident(after(resolve()), command, LATER)

    assert isinstance(refused.value, DomainError)  # so it goes to the dead-letter topic


def test_the_same_command_decides_the_same_event() -> None:
    first = decide_incident(declared(), update(), LATER)
    again = decide_incident(declared(), update(), LATER)

    assert first.events == again.events
