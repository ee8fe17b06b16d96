"""`./switchboard rebuild` reads a ticket the workflow's own store code wrote to the real store."""

import asyncio
import json
from datetime import timedelta

import pytest

from services.workflow.domain.lifecycle import decide
from services.workflow.domain.tickets import Ticket
from services.workflow.store import TicketStore
from shared.mongo import Collections, Database
from tests.service.fakes import NOW
from tests.service.test_ticket_rebuild import MINUTE, story
from tests.service.workflow_wiring import RULES, TICKET_ID
from tests.store.conftest import StoreUnderTest
from tools.cli import main


async def save_story(database: Database) -> None:
    store, now = TicketStore(database[Collections.TICKETS]), NOW
    ticket: Ticket | None = None
    for command in story():
        decision = decide(ticket, command, now, RULES)
        await store.save(decision, ticket.version if ticket else None)
        ticket = decision.ticket
        now += timedelta(seconds=MINUTE)


async def test_rebuild_replays_the_stored_events_and_finds_no_difference(
    store: StoreUnderTest, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await save_story(database)
    arguments = ["rebuild", TICKET_ID, "--mongo-url", store.url, "--database", database.name]

    # main runs its own event loop, so it runs in a thread of its own here.
    exit_code = await asyncio.to_thread(main, [*arguments, "--json", "--as-of", "2026-11-25T09:32"])

    report = json.loads(capsys.readouterr().out)
    assert exit_code == 0
    assert report["differences"] == {}
    assert report["state"]["status"] == "investigating"
    assert report["events"] == "4 of 13"


async def test_rebuild_of_an_unknown_ticket_fails(
    store: StoreUnderTest, database: Database
) -> None:
    arguments = [
        "rebuild",
        "TCK-FFFFFFFFFFFFFFFF",
        "--mongo-url",
        store.url,
        "--database",
        database.name,
    ]

    assert await asyncio.to_thread(main, arguments) == 1
