"""Burst detection: many similar tickets on one service within a while declare an outage."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.workflow.domain.rules import DetectionRule, IncidentRules, ServiceAttribute
from shared.events import WORKFLOW, TicketDetails
from shared.incidents import DeclareIncident, IncidentScope
from shared.vocabulary import incident_id_for_burst

# The scope field holding each attribute's values, and how people say the attribute.
SCOPE_FIELDS: dict[ServiceAttribute, str] = {
    "region": "regions",
    "carrier_route": "carrier_routes",
    "number_range": "number_ranges",
    "product": "products",
}
SPOKEN: dict[ServiceAttribute, str] = {
    "region": "region",
    "carrier_route": "carrier route",
    "number_range": "number range",
    "product": "product",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


@dataclass(frozen=True, slots=True)
class Watch:
    """A detection rule a ticket can trip, and the value it shares with the rest of a burst."""

    rule: DetectionRule
    value: str


def watches_for(details: TicketDetails, rules: IncidentRules) -> list[Watch]:
    """The rules watching the ticket's category whose attribute the ticket names."""
    affected = details.affected
    if affected is None:
        return []
    return [
        Watch(rule, value)
        for rule in rules.detection
        if rule.category is details.category
        and (value := getattr(affected, rule.attribute)) is not None
    ]


def window_start(within: timedelta, at: datetime) -> datetime:
    """The start of the fixed window of length `within` that holds `at`."""
    return EPOCH + (at - EPOCH) // within * within


def burst_declaration(watch: Watch, similar: int, at: datetime) -> DeclareIncident | None:
    """The outage to declare once `similar` tickets (the newest at `at`) reach the threshold.

    Its id comes from the rule, the value and the window, so every ticket of one burst, and
    every workflow instance that sees it, declares the very same incident.
    """
    rule = watch.rule
    if similar < rule.tickets:
        return None
    start = window_start(rule.within, at).isoformat()
    incident_id = incident_id_for_burst(rule.name, watch.value, start)
    where = f"{SPOKEN[rule.attribute]} {watch.value}"
    category = rule.category.value
    seen = f"{similar} {category} tickets in {where} within {written(rule.within)}"
    return DeclareIncident(
        command_id=f"detect:{incident_id}",
        issued_at=at,
        issued_by=WORKFLOW,
        incident_id=incident_id,
        reason=f"detection rule {rule.name}",
        title=f"Outage suspected: {seen}",
        severity=rule.severity,
        scope=IncidentScope.model_validate({SCOPE_FIELDS[rule.attribute]: [watch.value]}),
        message=(
            f"Several customers report a {category.replace('_', ' ')} in {where}. We are"
            " treating it as an outage and will keep you informed until it is resolved."
        ),
        request_hash=hashlib.sha256(incident_id.encode()).hexdigest(),
        detected=True,
    )


def written(duration: timedelta) -> str:
    """A duration as the rules file writes it: 10m, 4h, 2w."""
    for unit, length in _UNITS.items():
        if duration % length == timedelta(0):
            return f"{duration // length}{unit}"
    return f"{duration.total_seconds():g}s"
