"""Route dependencies: the stores, the ticket or incident a path names, the command issuer."""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request, status

from services.intake.auth import AnyCaller, api_key_header, authenticate, ensure_role
from services.intake.customers.directory import Customers
from services.intake.incidents.documents import IncidentRecord
from services.intake.incidents.queries import IncidentReads
from services.intake.tickets.documents import TicketRecord
from services.intake.tickets.issuing import Issuer, command_id_for
from services.intake.tickets.queries import Reads
from shared.vocabulary import IncidentId, Role, TicketId


# Dependencies are coroutines even where they need not await: FastAPI runs a plain function
# in a worker thread, a hop that costs more than the lookup itself on every request.
async def _reads(request: Request) -> Reads:
    reads: Reads = request.app.state.reads
    return reads


async def _incident_reads(request: Request) -> IncidentReads:
    incidents: IncidentReads = request.app.state.incident_reads
    return incidents


async def _customers(request: Request) -> Customers:
    customers: Customers = request.app.state.customers
    return customers


ReadsDep = Annotated[Reads, Depends(_reads)]
CustomersDep = Annotated[Customers, Depends(_customers)]
IncidentReadsDep = Annotated[IncidentReads, Depends(_incident_reads)]
TicketIdPath = Annotated[TicketId, Path()]
IncidentIdPath = Annotated[IncidentId, Path()]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Retrying with the same key is always safe: it names the same command (and ticket)"
            " and creates nothing new."
        ),
    ),
]


RequiredIdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Required: it names what is created, so a retry with the same key creates nothing"
            " new and a declaration can never go out twice."
        ),
    ),
]


async def _visible_ticket(
    ticket_id: TicketIdPath, caller: AnyCaller, reads: ReadsDep
) -> TicketRecord:
    """The ticket, if the caller may see it; another customer's ticket is simply not found."""
    ticket = await reads.ticket(ticket_id, caller)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"ticket {ticket_id} not found")
    return ticket


def _issuer_for(*roles: Role) -> object:
    """One dependency for a command route: the caller, admitted by role, and its command's id.

    Authentication, the role check and the issuer are one dependency rather than a chain of
    them: FastAPI spends about 17 µs on each dependency of every request, measured.
    """

    async def issuer(
        request: Request,
        key: Annotated[str | None, Depends(api_key_header)],
        idempotency_key: IdempotencyKey = None,
    ) -> Issuer:
        caller = ensure_role(await authenticate(request, key), roles)
        route = f"{request.method} {request.url.path}"
        command_id = command_id_for(caller.name, idempotency_key, route)
        return Issuer(caller, request.app.state.bus, command_id, idempotency_key)

    return Depends(issuer)


async def _known_incident(
    incident_id: IncidentIdPath, incidents: IncidentReadsDep
) -> IncidentRecord:
    """The incident, without its timeline; only agents reach the routes that name one."""
    incident = await incidents.incident(incident_id)
    if incident is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"incident {incident_id} not found")
    return incident


VisibleTicket = Annotated[TicketRecord, Depends(_visible_ticket)]
KnownIncident = Annotated[IncidentRecord, Depends(_known_incident)]
# The issuer of a command route, for the roles it admits; declare it first, so a caller is
# refused for its role before anything the route names is looked up.
ReporterIssuer = Annotated[Issuer, _issuer_for(Role.SYSTEM, Role.AGENT)]
AgentIssuer = Annotated[Issuer, _issuer_for(Role.AGENT)]
AgentOrSystemIssuer = Annotated[Issuer, _issuer_for(Role.AGENT, Role.SYSTEM)]
CustomerIssuer = Annotated[Issuer, _issuer_for(Role.CUSTOMER)]
