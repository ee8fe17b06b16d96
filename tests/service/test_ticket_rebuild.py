"""`./switchboard rebuild`: a ticket replayed from the events the workflow stored with it."""

from datetime import timedelta
from typing import Any

from faststream.kafka import TestKafkaBroker

from shared.events import (
    AddCallIds,
    AssignTicket,
    ChangeStatus,
    PostPublicUpdate,
    RecordDevelopmentProgress,
    ReportNotFixed,
    RequestDevelopment,
    TicketCommand,
)
from shared.lifecycle import DEVELOPMENT_STEPS
from shared.vocabulary import DevelopmentStatus, Team, TicketStatus, development_ticket_id
from tests.service.fakes import NOW, open_ticket_command
from tests.service.workflow_wiring import TICKET_ID, agent_command, build_workflow, send
from tools.rebuild import differences, events_of, rebuild, rebuild_report

MINUTE = 60
FIX_IN_PROGRESS, TESTING, DEPLOYED = DEVELOPMENT_STEPS


def story() -> list[TicketCommand]:
    """A ticket's life through the real handler, one command a minute after the opening."""
    development_id = development_ticket_id("development:1")
    return [
        open_ticket_command(),
        agent_command(AssignTicket, "assign:1", add_teams=[Team.TELECOM_ENGINEERING]),
        agent_command(ChangeStatus, "status:1", status=TicketStatus.INVESTIGATING),
        agent_command(PostPublicUpdate, "update:1", message="We are looking at the route."),
        agent_command(AddCallIds, "calls:1", call_ids=["c-20261125-0002"]),
        agent_command(RequestDevelopment, "development:1", summary="Patch the codec"),
        *(
            agent_command(
                RecordDevelopmentProgress,
                f"progress:{status.value}",
                development_ticket_id=development_id,
                status=status,
            )
            for status in (FIX_IN_PROGRESS, TESTING, DEPLOYED)
        ),
        agent_command(ReportNotFixed, "reopen:1", comment="still choppy"),
    ]


async def stored_after_story() -> dict[str, Any]:
    workflow = build_workflow()
    async with TestKafkaBroker(workflow.broker) as broker:
        for command in story():
            await send(broker, command)
            workflow.clock.advance(MINUTE)
    return workflow.store.documents[TICKET_ID]


async def test_the_full_replay_gives_back_every_field_the_events_carry() -> None:
    document = await stored_after_story()

    rebuilt = rebuild(events_of(document))

    assert differences(rebuilt, document) == {}
    assert rebuilt["status"] == document["status"] == TicketStatus.INVESTIGATING  # reopened
    assert rebuilt["reopen_count"] == 1
    assert rebuilt["development"]["status"] == DevelopmentStatus.DEPLOYED
    assert rebuilt["call_ids"] == ["c-20261125-0001", "c-20261125-0002"]
    assert rebuilt["first_responded_at"] == NOW + timedelta(minutes=2)
    assert rebuilt["tier"] != document["events"][1]["tier"]  # escalated on the reopening


async def test_as_of_a_moment_shows_the_ticket_as_it_was_then() -> None:
    document = await stored_after_story()
    before_development = NOW + timedelta(minutes=4, seconds=30)

    report = rebuild_report(document, before_development)

    assert report["state"]["status"] == "investigating"
    assert report["state"]["development"] is None
    assert report["state"]["teams"] == ["level_2_support", "telecom_engineering"]
    assert report["events"] == f"6 of {len(document['events'])}"
    assert report["differences"] == {}  # the full replay still matches the stored state


async def test_a_stored_field_the_events_do_not_explain_is_reported() -> None:
    document = await stored_after_story()
    document = {**document, "priority": "p1", "status": "closed"}

    report = rebuild_report(document, None)

    assert set(report["differences"]) == {"priority", "status"}
    assert report["differences"]["status"] == {"rebuilt": "investigating", "stored": "closed"}
