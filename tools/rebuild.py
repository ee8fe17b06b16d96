"""A ticket's state rebuilt from the events its document carries, at any moment, and compared.

The workflow stores each ticket as its state plus every event it produced. Replaying the events
gives back every field an event carries; the SLA clocks and the version are not carried by
events (clocks follow the rules file; a version counts commands), so they are not rebuilt.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from services.workflow.domain.lifecycle import STEP_EVENTS
from shared.events import (
    AlternativeProposed,
    CallIdsAdded,
    DevelopmentTicketOpened,
    Event,
    StatusChanged,
    TicketAssigned,
    TicketEscalated,
    TicketLinkedToIncident,
    TicketOpened,
    TicketReopened,
    TicketTriaged,
    ticket_event_adapter,
)
from shared.lifecycle import DEVELOPMENT_STEPS
from shared.vocabulary import DevelopmentStatus, Role, Team, TicketStatus

State = dict[str, Any]

# What a development ticket becomes with each fix step, as the workflow records it.
DEVELOPMENT_STATUS_AFTER = {STEP_EVENTS[step]: status for status, step in DEVELOPMENT_STEPS.items()}


def events_of(document: Mapping[str, Any]) -> list[Event]:
    return [ticket_event_adapter.validate_python(event) for event in document.get("events", [])]


def events_until(events: Iterable[Event], as_of: datetime | None) -> list[Event]:
    return [event for event in events if as_of is None or event.occurred_at <= as_of]


def rebuild(events: Iterable[Event]) -> State:
    """The ticket's fields as its events leave them, oldest event first."""
    state: State = {}
    for event in events:
        apply(state, event)
        state["updated_at"] = event.occurred_at
        if "first_responded_at" not in state and _agent_spoke_to_customer(event):
            state["first_responded_at"] = event.occurred_at
    return state


def apply(state: State, event: Event) -> None:
    match event:
        case TicketOpened():
            state.update(event.details.model_dump(), created_at=event.occurred_at)
            state.update(follow_up_of=event.follow_up_of, reopen_count=0, development=None)
            state.update(incident_id=None, alternative_proposed=False)
        case TicketTriaged():
            state.update(team=event.team, teams=[event.team], priority=event.priority)
            state.update(tier=event.tier, status=TicketStatus.TRIAGED)
        case TicketAssigned():
            state.update(team=event.team, teams=list(event.teams))
        case CallIdsAdded():
            state["call_ids"] = [*state.get("call_ids", []), *event.call_ids]
        case TicketEscalated():
            state["tier"] = event.to_tier
        case TicketLinkedToIncident():
            state.update(incident_id=event.incident_id, priority=event.priority)
        case AlternativeProposed():
            state["alternative_proposed"] = True
        case StatusChanged():
            _status_changed(state, event)


def _status_changed(state: State, event: StatusChanged) -> None:
    state["status"] = event.to_status
    match event:
        case DevelopmentTicketOpened():
            development = {
                "development_ticket_id": event.development_ticket_id,
                "summary": event.summary,
                "status": DevelopmentStatus.OPEN,
                "opened_at": event.occurred_at,
            }
            teams = sorted({*state.get("teams", []), Team.DEVELOPMENT})
            state.update(development=development, teams=teams)
        case TicketReopened():
            state["reopen_count"] = event.reopen_count
    status = DEVELOPMENT_STATUS_AFTER.get(type(event))
    if status is not None and state.get("development"):
        state["development"] = {**state["development"], "status": status}


def _agent_spoke_to_customer(event: Event) -> bool:
    return event.customer_visible and event.actor.role is Role.AGENT


def differences(rebuilt: State, stored: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Each rebuilt field whose value the stored document does not hold: (rebuilt, stored)."""
    found = {}
    for name, value in rebuilt.items():
        mine, theirs = comparable(value), comparable(stored.get(name))
        if mine != theirs:
            found[name] = (mine, theirs)
    return found


def comparable(value: Any) -> Any:
    """One spelling for both sides: plain JSON values, times in UTC (the store may drop zones)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return comparable(value.value)
    if isinstance(value, Mapping):
        return {str(key): comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(item) for item in value]
    return value


def rebuild_report(document: Mapping[str, Any], as_of: datetime | None) -> dict[str, Any]:
    """The ticket as of a moment, and how the full replay differs from the stored state."""
    events = events_of(document)
    shown = events_until(events, as_of)
    changed = differences(rebuild(events), document)
    return {
        "ticket_id": document["_id"],
        "as_of": comparable(as_of) if as_of else None,
        "events": f"{len(shown)} of {len(events)}",
        "state": comparable(rebuild(shown)),
        "differences": {name: {"rebuilt": a, "stored": b} for name, (a, b) in changed.items()},
    }
