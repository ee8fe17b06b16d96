"""The console's routes: the page, signing in and out, the live stream and a ticket's timeline.

The page itself holds no data, so it is served to anyone; everything it shows comes through
routes that only an agent reaches, by the session cookie the page got when it signed in (or
by an agent's `X-API-Key`, for scripts).
"""

import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.intake.auth import Agent
from services.intake.console.board import ConsoleReads
from services.intake.console.feeds import followed_topics, lag_reader
from services.intake.console.hub import ConsoleHub
from services.intake.console.sessions import COOKIE, COOKIE_PATH, ConsoleAgent, SessionSigner
from services.intake.console.strings import LANGUAGES, TABLES, language_for
from services.intake.dependencies import ReadsDep, TicketIdPath
from services.intake.responses import EVERY_ROUTE, Responses, problem
from services.intake.settings import IntakeSettings
from services.intake.tickets.documents import TimelineItem
from shared.mongo import Database

HERE = Path(__file__).parent
PING_S = 15
# The page runs only its own script and style, and talks only to this origin.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NEEDS_AGENT: Responses = {
    401: problem("Not signed in, and no agent's key"),
    403: problem("The key is not an agent's"),
    422: EVERY_ROUTE[422],
}

router = APIRouter(prefix="/console", tags=["console"])
templates = Jinja2Templates(directory=HERE / "templates")


class ConsoleSession(BaseModel):
    name: str
    expires_in_s: int


@router.get("", include_in_schema=False, response_class=HTMLResponse)
async def page(
    request: Request,
    lang: Annotated[str | None, Query(max_length=8)] = None,
    accept_language: Annotated[str | None, Header(max_length=500)] = None,
) -> HTMLResponse:
    language = language_for(lang, accept_language)
    context = {
        "lang": language,
        "t": TABLES[language],
        "strings": json.dumps(TABLES[language]).replace("<", "\\u003c"),
        "languages": LANGUAGES,
    }
    response = templates.TemplateResponse(request, "console.html", context)
    response.headers.update(PAGE_HEADERS)
    return response


@router.post(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NEEDS_AGENT,
    summary="Sign a browser in to the console with an agent's X-API-Key (role: agent)",
    description=(
        "Sets the session cookie the console page uses: HttpOnly, SameSite=Strict, limited "
        "to /console, signed, naming the key only by its hash, for "
        "`SWITCHBOARD_CONSOLE_SESSION_S` seconds."
    ),
)
async def sign_in(request: Request, _caller: Agent, response: Response) -> None:
    signer: SessionSigner = request.app.state.console_sessions
    key = request.headers.get("X-API-Key", "")
    response.set_cookie(
        COOKIE,
        signer.issue(key),
        max_age=signer.lifetime_s,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"


@router.get(
    "/session",
    responses=NEEDS_AGENT,
    summary="Who the console is signed in as (role: agent)",
)
async def session(caller: ConsoleAgent, request: Request) -> ConsoleSession:
    signer: SessionSigner = request.app.state.console_sessions
    return ConsoleSession(name=caller.name, expires_in_s=signer.lifetime_s)


@router.delete(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NEEDS_AGENT,
    summary="Sign the browser out of the console (role: agent)",
)
async def sign_out(_caller: ConsoleAgent, response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": (
                "First a snapshot — `board` (open tickets), `incidents` (open, with their "
                "broadcast counts), `dead-letters`, `lag` — then `ticket` for each ticket "
                "that changed and the others again whenever they change"
            ),
        },
        **NEEDS_AGENT,
    },
    summary="The console's live feed, as server-sent events (role: agent)",
)
async def stream(_caller: ConsoleAgent, request: Request) -> EventSourceResponse:
    hub: ConsoleHub = request.app.state.console_hub
    return EventSourceResponse(_frames(hub), ping=PING_S, headers={"Cache-Control": "no-store"})


async def _frames(hub: ConsoleHub) -> AsyncIterator[ServerSentEvent]:
    async for event in hub.events():
        yield ServerSentEvent(data=event.json(), event=event.event)


@router.get(
    "/tickets/{ticket_id}/timeline",
    responses={**NEEDS_AGENT, 404: problem("No such ticket")},
    summary="A ticket's timeline with its delivery attempts, for the console (role: agent)",
)
async def timeline(
    ticket_id: TicketIdPath, caller: ConsoleAgent, reads: ReadsDep
) -> list[TimelineItem]:
    items = await reads.timeline(ticket_id, caller)
    if items is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"ticket {ticket_id} not found")
    return items


def install_console(app: FastAPI, settings: IntakeSettings, database: Database) -> ConsoleHub:
    """The console's routes, its static files, its sessions and its hub, on `app`."""
    secret = settings.console_session_secret
    app.state.console_sessions = SessionSigner(
        secret.get_secret_value().encode() if secret else None, settings.console_session_s
    )
    hub = ConsoleHub(
        ConsoleReads(database, settings.console_board_limit),
        partial(followed_topics, settings.kafka_bootstrap),
        partial(lag_reader, settings.kafka_bootstrap),
        settings.console_lag_poll_s,
    )
    app.state.console_hub = hub
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    return hub
