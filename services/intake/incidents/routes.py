"""Outages over HTTP: operators declare, update and resolve incidents and watch their reach;
customers see the open incidents that affect them.

Every write answers 202 once Kafka acknowledged the command, keyed by the incident id; the
workflow applies it, links the tickets in scope, and the notifier tells every affected customer.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.intake.auth import Agent, AgentOrCustomer
from services.intake.dependencies import (
    AgentIssuer,
    CustomersDep,
    IncidentIdPath,
    IncidentReadsDep,
    KnownIncident,
    ReporterIssuer,
    RequiredIdempotencyKey,
)
from services.intake.incidents.documents import customer_incident_view, incident_summary
from services.intake.incidents.issuing import declare_incident, send_to_incident
from services.intake.incidents.schemas import (
    CustomerIncidentView,
    DeclarationRequest,
    IncidentAccepted,
    IncidentFilters,
    IncidentSummary,
    IncidentUpdateRequest,
    IncidentView,
    ResolutionRequest,
)
from services.intake.preconditions import require_incident_open
from services.intake.responses import (
    DECLARATION,
    INCIDENT_NOT_FOUND,
    INCIDENT_WRITE,
    command_route,
)
from services.intake.tickets.documents import ticket_view
from services.intake.tickets.schemas import TicketView
from shared.customers import Services
from shared.incidents import ResolveIncident, UpdateIncident
from shared.vocabulary import Role, incident_id_for_request

router = APIRouter(tags=["incidents"])


def _not_found(incident_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"incident {incident_id} not found")


@command_route(
    router,
    "/incidents",
    responses=DECLARATION,
    summary="Declare an outage (roles: agent, system)",
    description=(
        "Every customer in the scope is told at once; open tickets in scope are linked to the "
        "incident and take its priority. The `Idempotency-Key` header is required: it names "
        "the incident, so a retry declares nothing twice."
    ),
)
async def declare(
    issuer: ReporterIssuer,
    body: DeclarationRequest,
    idempotency_key: RequiredIdempotencyKey,
    incidents: IncidentReadsDep,
    response: Response,
) -> IncidentAccepted:
    incident_id = incident_id_for_request(issuer.caller.name, idempotency_key)
    accepted = await declare_incident(issuer, incidents, incident_id, body)
    response.headers["Location"] = accepted.status_url
    return accepted


@command_route(
    router,
    "/incidents/{incident_id}/updates",
    responses=INCIDENT_WRITE,
    summary="Post an update on an outage, sent to every affected customer (role: agent)",
)
async def post_update(
    issuer: AgentIssuer, incident: KnownIncident, body: IncidentUpdateRequest
) -> IncidentAccepted:
    require_incident_open(incident, "post an update")
    return await send_to_incident(
        issuer, UpdateIncident, incident.incident_id, message=body.message, severity=body.severity
    )


@command_route(
    router,
    "/incidents/{incident_id}/resolve",
    responses=INCIDENT_WRITE,
    summary="Resolve an outage (role: agent)",
    description=(
        "Every affected customer is told; each linked ticket goes to its customer for "
        "confirmation, who confirms or reopens it as usual."
    ),
)
async def resolve(
    issuer: AgentIssuer, incident: KnownIncident, body: ResolutionRequest
) -> IncidentAccepted:
    require_incident_open(incident, "resolve it")
    return await send_to_incident(
        issuer, ResolveIncident, incident.incident_id, message=body.message
    )


@router.get(
    "/incidents",
    summary="List incidents, newest first (role: agent; customer: those affecting them)",
    description=(
        "Agents see every incident, filtered by `status`. A customer sees the incidents whose "
        "scope names them or a service they use — the open ones unless `status` says "
        "otherwise — without the scope."
    ),
)
async def list_incidents(
    filters: Annotated[IncidentFilters, Query()],
    caller: AgentOrCustomer,
    incidents: IncidentReadsDep,
    customers: CustomersDep,
) -> list[IncidentSummary] | list[CustomerIncidentView]:
    if caller.role is not Role.CUSTOMER:
        return [incident_summary(incident) for incident in await incidents.incidents(filters)]
    customer_id = caller.customer_id or ""  # a customer key always names its customer
    customer = await customers.get(customer_id)
    services = customer.services if customer else Services()
    affecting = await incidents.affecting(customer_id, services, filters)
    return [customer_incident_view(incident) for incident in affecting]


@router.get(
    "/incidents/{incident_id}",
    responses=INCIDENT_NOT_FOUND,
    summary="An incident, its timeline and its live reach (role: agent)",
    description=(
        "Read now, not cached: `linked_tickets` counts the tickets linked to it; each of "
        "`counts.broadcasts` (one per incident event) counts the customers affected, the "
        "notifications planned, stored, delivered, failed and pending; `counts.total` sums "
        "them."
    ),
)
async def get_incident(
    incident_id: IncidentIdPath, _caller: Agent, incidents: IncidentReadsDep
) -> IncidentView:
    view = await incidents.with_reach(incident_id)
    if view is None:
        raise _not_found(incident_id)
    return view


@router.get(
    "/incidents/{incident_id}/tickets",
    responses=INCIDENT_NOT_FOUND,
    summary="The tickets linked to an incident, newest first (role: agent)",
)
async def linked_tickets(
    _caller: Agent,
    incident: KnownIncident,
    incidents: IncidentReadsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TicketView]:
    tickets = await incidents.linked_tickets(incident.incident_id, limit)
    return [ticket_view(ticket) for ticket in tickets]
