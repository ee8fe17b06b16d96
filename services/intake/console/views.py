"""What the console sends about a ticket and an incident: what its board and panels show."""

from datetime import datetime
from typing import Any

from services.intake.incidents.documents import IncidentRecord
from services.intake.tickets.documents import TicketRecord


def board_ticket(ticket: TicketRecord) -> dict[str, Any]:
    clocks = ticket.clocks
    return {
        "ticket_id": ticket.ticket_id,
        "status": ticket.status.value,
        "priority": ticket.priority.value if ticket.priority else None,
        "team": ticket.team.value if ticket.team else None,
        "customer_id": ticket.customer_id,
        "summary": ticket.summary,
        "incident_id": ticket.incident_id,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "first_response_due": _iso(clocks.first_response_due),
        "next_update_due": _iso(clocks.next_update_due),
        "resolution_due": _iso(clocks.resolution_due),
        "paused": clocks.paused_since is not None,
        "breached": clocks.first_response_breached or clocks.resolution_breached,
    }


def incident_entry(incident: IncidentRecord, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "title": incident.title,
        "severity": incident.severity.value,
        "message": incident.message,
        "declared_at": incident.declared_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "counts": counts,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
