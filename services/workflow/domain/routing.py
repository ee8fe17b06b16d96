"""Routing: which team owns a new ticket and how urgent it is, decided by the rules."""

from dataclasses import dataclass

from services.workflow.domain.rules import Rules
from shared.events import TicketDetails
from shared.vocabulary import Priority, Team


@dataclass(frozen=True, slots=True)
class Triage:
    team: Team
    priority: Priority
    reason: str


def triage(details: TicketDetails, rules: Rules) -> Triage:
    threshold = rules.priority.many_users_threshold
    if details.affected_users >= threshold:
        return Triage(
            team=rules.priority.many_users_team,
            priority=rules.priority.many_users_priority,
            reason=f"{details.affected_users} users affected (threshold {threshold})",
        )
    team = rules.routing.teams.get(details.category, rules.routing.default_team)
    priority = rules.priority.by_category.get(details.category, rules.priority.default)
    return Triage(team=team, priority=priority, reason=f"category {details.category.value}")
