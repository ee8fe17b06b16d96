"""What follows from outages: the tickets an incident takes in and later resolves, and the
outages a burst of new tickets reveals.

Every command issued here has an id derived from the incident and the ticket, so doing this
again after a redelivery, or from a second workflow instance, decides nothing twice.
"""

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from faststream.kafka.publisher import DefaultPublisher

from services.workflow.directory import ServiceDirectory
from services.workflow.domain.affected import incident_for_ticket, ticket_in_scope
from services.workflow.domain.bursts import burst_declaration, watches_for
from services.workflow.domain.incidents import Incident
from services.workflow.domain.rules import IncidentRules
from services.workflow.domain.tickets import Ticket
from services.workflow.incident_store import IncidentStore, incident_from_document
from services.workflow.store import TicketStore, details_from_document, ticket_from_document
from shared.events import (
    WORKFLOW,
    LinkToIncident,
    OpenTicket,
    ResolveWithIncident,
    TicketCommand,
    TicketDetails,
)
from shared.incidents import AnyIncidentCommand, DeclareIncident, IncidentStatus, ResolveIncident
from shared.lifecycle import CLOCKS_STOPPED
from shared.mongo import Document

PUBLISH_BATCH = 100  # commands in flight at once when an outage hits many tickets


class Outages:
    def __init__(
        self,
        tickets: TicketStore,
        incidents: IncidentStore,
        directory: ServiceDirectory,
        ticket_commands: DefaultPublisher,
        incident_commands: DefaultPublisher,
        rules: IncidentRules,
        clock: Callable[[], datetime],
    ) -> None:
        self._tickets = tickets
        self._incidents = incidents
        self._directory = directory
        self._ticket_commands = ticket_commands
        self._incident_commands = incident_commands
        self._rules = rules
        self._clock = clock

    async def incident_changed(self, command: AnyIncidentCommand, document: Document) -> None:
        incident = incident_from_document(document)
        if isinstance(command, DeclareIncident) and incident.status is IncidentStatus.OPEN:
            await self._link_tickets_in_scope(incident)
        elif isinstance(command, ResolveIncident):
            linked = await self._tickets.open_linked_to(incident.incident_id)
            await self._send([self._resolve(ticket_id, incident) for ticket_id in linked])

    async def ticket_changed(self, command: TicketCommand, document: Document) -> None:
        if isinstance(command, OpenTicket):
            await self._ticket_opened(ticket_from_document(document))
        elif isinstance(command, LinkToIncident):
            await self._ticket_linked(ticket_from_document(document), command.incident_id)

    async def _link_tickets_in_scope(self, incident: Incident) -> None:
        candidates = await self._tickets.open_in_categories(self._rules.linkable_categories)
        unlinked = [c for c in candidates if c.get("incident_id") != incident.incident_id]
        reports = {c["_id"]: details_from_document(c) for c in unlinked}
        services = await self._directory.services_of(
            [report.customer_id for report in reports.values() if report.affected is None]
        )
        await self._send(
            [
                self._link(ticket_id, incident)
                for ticket_id, report in reports.items()
                if ticket_in_scope(
                    report, services.get(report.customer_id), incident.scope, self._rules
                )
            ]
        )

    async def _ticket_opened(self, ticket: Ticket) -> None:
        """A new ticket joins the open outage it is part of; otherwise it may reveal one."""
        if ticket.incident_id is not None or ticket.status in CLOCKS_STOPPED:
            return
        open_incidents = await self._incidents.open_incidents()
        incident = await self._incident_for(ticket.details, open_incidents)
        if incident is not None:
            await self._send([self._link(ticket.ticket_id, incident)])
        else:
            await self._detect_burst(ticket)

    async def _incident_for(
        self, details: TicketDetails, open_incidents: list[Incident]
    ) -> Incident | None:
        if not open_incidents:
            return None
        # The directory matters only for a ticket that names no affected service.
        lookup = [details.customer_id] if details.affected is None else []
        services = (await self._directory.services_of(lookup)).get(details.customer_id)
        return incident_for_ticket(details, services, open_incidents, self._rules)

    async def _detect_burst(self, ticket: Ticket) -> None:
        """Counted up to the ticket's creation, so a redelivery counts the same burst."""
        for watch in watches_for(ticket.details, self._rules):
            rule, until = watch.rule, ticket.created_at
            similar = await self._tickets.count_similar(
                rule.category, rule.attribute, watch.value, until - rule.within, until
            )
            declaration = burst_declaration(watch, similar, until)
            if declaration is not None:
                key = declaration.incident_id.encode()
                await self._incident_commands.publish(declaration, key=key)

    async def _ticket_linked(self, ticket: Ticket, incident_id: str) -> None:
        """Linked just as its incident was resolved: it resolves with the incident all the same."""
        if ticket.incident_id != incident_id or ticket.status in CLOCKS_STOPPED:
            return
        incident = await self._incidents.incident(incident_id)
        if incident is not None and incident.status is IncidentStatus.RESOLVED:
            await self._send([self._resolve(ticket.ticket_id, incident)])

    def _link(self, ticket_id: str, incident: Incident) -> LinkToIncident:
        return LinkToIncident(
            command_id=f"link:{incident.incident_id}:{ticket_id}",
            issued_at=self._clock(),
            issued_by=WORKFLOW,
            ticket_id=ticket_id,
            reason=f"part of outage {incident.incident_id}",
            incident_id=incident.incident_id,
            title=incident.title,
            message=incident.message,
            priority=self._rules.priority,
        )

    def _resolve(self, ticket_id: str, incident: Incident) -> ResolveWithIncident:
        return ResolveWithIncident(
            command_id=f"resolve:{incident.incident_id}:{ticket_id}",
            issued_at=self._clock(),
            issued_by=WORKFLOW,
            ticket_id=ticket_id,
            reason=f"outage {incident.incident_id} resolved",
            incident_id=incident.incident_id,
            message=incident.message,
        )

    async def _send(self, commands: Sequence[LinkToIncident | ResolveWithIncident]) -> None:
        for start in range(0, len(commands), PUBLISH_BATCH):
            batch = commands[start : start + PUBLISH_BATCH]
            await asyncio.gather(
                *(self._ticket_commands.publish(c, key=c.ticket_id.encode()) for c in batch)
            )
